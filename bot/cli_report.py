"""``jobbot report``: the figures for a period as CSV or JSON."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.calendar import local_date
from bot.clock import SystemClock
from bot.db import unit_of_work
from bot.errors import JobbotError
from bot.models import AbsenceReason
from bot.services.figures import figures
from bot.settings import Settings


def add_commands(commands: Any) -> None:
    report = commands.add_parser(
        "report", help="figures per job centre for a period (CSV or JSON)",
        description="The five-day guarantee (a first plan, work, studies or a measure within "
                    "five working days of the intake) and how it was met, a job within five "
                    "days, deepened plans and reviews on time, plans waiting for the "
                    "aspirant's confirmation, closed within 12 months excluding those sent "
                    "back, self-supporting six months after leaving, time enrolled to work or "
                    "studies (16-24 and all), attendance, absences by reason, unexcused "
                    "streaks, no-shows at information sessions, and messages by outcome. The "
                    "columns are the same whatever the data; see README.",
    )
    report.add_argument("--from", dest="first", type=_day,
                        help=f"YYYY-MM-DD (default: {DEFAULT_DAYS - 1} days before --to)")
    report.add_argument("--to", dest="last", type=_day,
                        help="YYYY-MM-DD (default: today in JOBBOT_TIMEZONE)")
    report.add_argument("--format", choices=("csv", "json"), default="csv")
    report.add_argument("--centre", action="append", help="limit to these job centres (by name)")
    report.set_defaults(run=report_command)


# Without --from/--to: the last four weeks, today included.
DEFAULT_DAYS = 28


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


MESSAGE_OUTCOMES = ("sent", "failed", "skipped", "pending", "sending", "cancelled")
# Every column, in order: the header is the same whatever the data (README lists them).
COLUMNS: tuple[str, ...] = (
    "centre",
    "first_plan_due", "first_plan_on_time", "first_plan_on_time_rate",
    "first_plan_met_by_plan", "first_plan_met_by_work", "first_plan_met_by_studies",
    "first_plan_met_by_measure", "first_plan_pending", "first_plan_left_before_due",
    "first_plan_awaiting_confirmation", "first_plan_median_working_days",
    "job_within_five_days", "job_within_five_days_rate",
    "enrolled_without_intake",
    "deepened_plan_due", "deepened_plan_on_time", "deepened_plan_on_time_rate",
    "deepened_plan_pending", "deepened_plan_awaiting_confirmation",
    "reviews_due", "reviews_on_time", "reviews_on_time_rate", "reviews_pending",
    "reviews_awaiting_confirmation",
    "closed_12_months_cohort", "closed_12_months", "closed_12_months_rate",
    "follow_ups_found_out", "self_supporting_6_months", "self_supporting_6_months_rate",
    "follow_ups_could_not_find_out", "follow_ups_not_recorded",
    "left_for_work_or_studies", "mean_days_to_work_or_studies",
    "left_for_work_or_studies_16_24", "mean_days_to_work_or_studies_16_24",
    "attendance_present_days", "attendance_recorded_days", "attendance_rate",
    "aspirants_unexcused_streak_2plus", "aspirants_unexcused_streak_3plus",
    *(f"absence_days_{reason.value}" for reason in AbsenceReason),
    "session_no_shows", "session_attendance_marked",
    *(f"messages_{outcome}" for outcome in MESSAGE_OUTCOMES),
    "messages_skipped_reasons",
)


def rows(report: figures.Report) -> list[dict[str, Any]]:
    """One row per centre, the total, then (where recorded) one per gender and age band;
    every row has every column of ``COLUMNS``, in that order."""
    labelled = [(item.name, item) for item in report.centres] + [("ALL", report.total)]
    labelled += [(f"gender: {label}", item) for label, item in report.by_gender.items()]
    labelled += [(f"age: {label}", item) for label, item in report.by_age_band.items()]
    return [_row(name, item) for name, item in labelled]


def _row(name: str, item: figures.Figures) -> dict[str, Any]:
    plan, deepened, reviews = item.first_plan, item.deepened_plan, item.reviews
    follow_ups = item.follow_ups
    skipped = {k.removeprefix("skipped:"): n for k, n in sorted(item.reminders.items())
               if k.startswith("skipped:")}
    row: dict[str, Any] = {
        "centre": name,
        "first_plan_due": plan.on_time.total,
        "first_plan_on_time": plan.on_time.hits,
        "first_plan_on_time_rate": _rate(plan.on_time),
        **{f"first_plan_met_by_{how}": plan.met_by.get(how, 0) for how in figures.MET_BY},
        "first_plan_pending": plan.pending,
        "first_plan_left_before_due": plan.left_before_due,
        "first_plan_awaiting_confirmation": plan.awaiting_confirmation,
        "first_plan_median_working_days": plan.median_days,
        "job_within_five_days": plan.job_within_deadline,
        "job_within_five_days_rate": _rate(plan.job_within_five_days),
        "enrolled_without_intake": item.enrolled_without_intake,
        "deepened_plan_due": deepened.on_time.total,
        "deepened_plan_on_time": deepened.on_time.hits,
        "deepened_plan_on_time_rate": _rate(deepened.on_time),
        "deepened_plan_pending": deepened.pending,
        "deepened_plan_awaiting_confirmation": deepened.awaiting_confirmation,
        "reviews_due": reviews.on_time.total,
        "reviews_on_time": reviews.on_time.hits,
        "reviews_on_time_rate": _rate(reviews.on_time),
        "reviews_pending": reviews.pending,
        "reviews_awaiting_confirmation": reviews.awaiting_confirmation,
        "closed_12_months_cohort": item.closed_within_12_months.total,
        "closed_12_months": item.closed_within_12_months.hits,
        "closed_12_months_rate": _rate(item.closed_within_12_months),
        "follow_ups_found_out": follow_ups.self_supporting.total,
        "self_supporting_6_months": follow_ups.self_supporting.hits,
        "self_supporting_6_months_rate": _rate(follow_ups.self_supporting),
        "follow_ups_could_not_find_out": follow_ups.could_not_find_out,
        "follow_ups_not_recorded": follow_ups.not_recorded,
        "left_for_work_or_studies": len(item.days_to_work_or_studies),
        "mean_days_to_work_or_studies": item.mean_days_to_work_or_studies,
        "left_for_work_or_studies_16_24": len(item.young_days_to_work_or_studies),
        "mean_days_to_work_or_studies_16_24": item.young_mean_days_to_work_or_studies,
        "attendance_present_days": item.attendance.hits,
        "attendance_recorded_days": item.attendance.total,
        "attendance_rate": _rate(item.attendance),
        "aspirants_unexcused_streak_2plus": item.aspirants_with_streak(2),
        "aspirants_unexcused_streak_3plus": item.aspirants_with_streak(3),
        **{f"absence_days_{reason.value}": item.absence_days_by_reason.get(reason.value, 0)
           for reason in AbsenceReason},
        "session_no_shows": item.session_no_shows.hits,
        "session_attendance_marked": item.session_no_shows.total,
        **{f"messages_{outcome}": item.reminders.get(outcome, 0)
           for outcome in MESSAGE_OUTCOMES if outcome != "skipped"},
        "messages_skipped": sum(skipped.values()),
        "messages_skipped_reasons": ";".join(f"{k}:{n}" for k, n in skipped.items()),
    }
    return {column: row[column] for column in COLUMNS}


def _rate(share: figures.Share) -> float | None:
    return round(share.rate, 4) if share.rate is not None else None


def report_command(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli_common import session_factory
    from bot.services.centres import centres
    from bot.services.people import demographics

    last = args.last or SystemClock().now().astimezone(settings.zone).date()
    first = args.first or last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise JobbotError("--to is before --from")
    if args.first is None or args.last is None:
        print(f"figures for {first.isoformat()} to {last.isoformat()}", file=sys.stderr)
    with unit_of_work(session_factory(settings)) as db:
        centre_ids = None
        if args.centre:
            centre_ids = []
            for name in args.centre:
                centre = centres.by_name(db, name)
                if centre is None:
                    raise JobbotError(f"unknown job centre {name!r}")
                centre_ids.append(centre.id)
        # Deadlines from today on are not yet due, even in a period that runs past today.
        today = local_date(SystemClock().now(), ZoneInfo(settings.timezone))
        data = rows(figures.compute(db, first, last, centre_ids=centre_ids,
                                    groups=demographics.enabled(db), today=today))
    if args.format == "json":
        json.dump({"from": first.isoformat(), "to": last.isoformat(),
                   "today": today.isoformat(), "columns": list(COLUMNS), "centres": data},
                  sys.stdout, indent=2, ensure_ascii=False)
        print()
        return 0
    writer = csv.DictWriter(sys.stdout, fieldnames=list(COLUMNS))
    writer.writeheader()
    writer.writerows(data)
    return 0
