"""``jobbot report``: the figures for a period as CSV or JSON."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import date, timedelta
from typing import Any

from bot.clock import SystemClock
from bot.db import unit_of_work
from bot.errors import JobbotError
from bot.services.figures import figures
from bot.settings import Settings


def add_commands(commands: Any) -> None:
    report = commands.add_parser(
        "report", help="figures per job centre for a period (CSV or JSON)",
        description="The share of first plans done within five working days of the "
                    "information session and the median days, deepened plans and reviews on "
                    "time, attendance, absences by reason, unexcused streaks, no-shows at "
                    "information sessions, and reminders by outcome.",
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


def rows(report: figures.Report) -> list[dict[str, Any]]:
    """One row per centre, the total, then (where recorded) one per gender and age band."""
    labelled = [(item.name, item) for item in report.centres] + [("ALL", report.total)]
    labelled += [(f"gender: {label}", item) for label, item in report.by_gender.items()]
    labelled += [(f"age: {label}", item) for label, item in report.by_age_band.items()]
    result = []
    for name, item in labelled:
        row: dict[str, Any] = {
            "centre": name,
            "first_plan_on_time": item.first_plan.on_time.hits,
            "first_plan_due": item.first_plan.on_time.total,
            "first_plan_on_time_rate": _rate(item.first_plan.on_time),
            "first_plan_median_working_days": item.first_plan.median_days,
            "first_plan_pending": item.first_plan.pending,
            "deepened_plan_on_time": item.deepened_plan.on_time.hits,
            "deepened_plan_due": item.deepened_plan.on_time.total,
            "reviews_on_time": item.reviews.on_time.hits,
            "reviews_due": item.reviews.on_time.total,
            "attendance_present_days": item.attendance.hits,
            "attendance_recorded_days": item.attendance.total,
            "attendance_rate": _rate(item.attendance),
            "aspirants_unexcused_streak_2plus": item.aspirants_with_streak(2),
            "aspirants_unexcused_streak_3plus": item.aspirants_with_streak(3),
            "session_no_shows": item.session_no_shows.hits,
            "session_attendance_marked": item.session_no_shows.total,
        }
        for reason, days in sorted(item.absence_days_by_reason.items()):
            row[f"absence_days_{reason}"] = days
        for outcome, count in sorted(item.reminders.items()):
            row[f"messages_{outcome.replace(':', '_')}"] = count
        result.append(row)
    return result


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
        data = rows(figures.compute(db, first, last, centre_ids=centre_ids,
                                    groups=demographics.enabled(db)))
    if args.format == "json":
        json.dump({"from": first.isoformat(), "to": last.isoformat(), "centres": data},
                  sys.stdout, indent=2, ensure_ascii=False)
        print()
        return 0
    columns: list[str] = []
    for row in data:
        columns += [key for key in row if key not in columns]
    writer = csv.DictWriter(sys.stdout, fieldnames=columns, restval=0)
    writer.writeheader()
    writer.writerows(data)
    return 0
