"""/report: figures in chat with a weekly chart. Admins see every centre they administer,
coaches their own caseload."""

from __future__ import annotations

from datetime import date, timedelta

from telegram.ext import Application, CommandHandler

from bot.calendar import local_date
from bot.charts import ChartWords, can_show, weekly_chart, weeks_of, words_for
from bot.i18n import N_, Translator, translator
from bot.models import AbsenceReason, Role
from bot.presentation.views import ABSENCE_REASON_NAMES, split_message
from bot.services.figures import figures
from bot.services.figures.figures import Figures, Share
from bot.services.people import demographics, people
from handlers.base import Turn, on

PERIOD_DAYS = 90


@on(roles={Role.ADMIN, Role.COACH, Role.TEAM_LEAD})
def report_command(turn: Turn) -> None:
    assert turn.person is not None
    last = local_date(turn.now, turn.t.zone)
    first = last - timedelta(days=PERIOD_DAYS - 1)
    admin_of = people.centres_where(turn.person, Role.ADMIN, Role.TEAM_LEAD)
    if admin_of:
        centre_ids = None if None in admin_of else admin_of
        report = figures.compute(turn.db, first, last, centre_ids=centre_ids,  # type: ignore[arg-type]
                                 groups=demographics.enabled(turn.db), today=last)
        heading = turn._("Figures for {first} – {last}", first=turn.t.short_date(first),
                         last=turn.t.short_date(last))
    else:
        report = figures.compute(turn.db, first, last, coach_id=turn.person.id, today=last)
        heading = turn._("Figures for your aspirants, {first} – {last}",
                         first=turn.t.short_date(first), last=turn.t.short_date(last))
    sections = [heading]
    for item in report.centres:
        sections.append(_section(turn.t, item))
    for title, groups, names in (
        (N_("By gender"), report.by_gender, demographics.GENDER_NAMES),
        (N_("By age band"), report.by_age_band, {}),
    ):
        if groups:
            sections.append(_groups(turn.t, turn._(title), groups, names))
    for part in split_message("\n\n".join(sections)):
        turn.say(part)
    _send_chart(turn, report, first, last)


def _send_chart(turn: Turn, report: figures.Report, first: date, last: date) -> None:
    chart = LabelledChart(turn.t, report, first, last)
    turn.send_photo(chart.draw, caption=lambda: chart.caption)


class LabelledChart:
    """The weekly chart, labelled in the reader's language if this machine has a font for
    its script; otherwise in English, and the caption says why. Decided when drawn, after
    the commit and off the event loop (looking at the fonts loads matplotlib)."""

    def __init__(self, t: Translator, report: figures.Report, first: date, last: date) -> None:
        self.t, self.report, self.first, self.last = t, report, first, last
        self.caption = t._("Attendance, and the five-day guarantee met")

    def draw(self) -> bytes:
        words = chart_words(self.t)
        if not can_show(_texts(words, self.first, self.last)):
            words = chart_words(translator("en", self.t.zone.key))
            self.caption += "\n" + self.t._(NO_FONT_NOTE)
        return weekly_chart(self.report.weekly_attendance, self.report.weekly_first_plan,
                            first=self.first, last=self.last, words=words)


NO_FONT_NOTE = N_("The chart is labelled in English: this server has no font for your "
                  "language's script.")


chart_words = words_for


def _texts(words: ChartWords, first: date, last: date) -> list[str]:
    return [words.title, words.attendance, words.first_plan, words.week,
            *(words.week_label(week) for week in weeks_of(first, last))]


def _groups(t: Translator, title: str, groups: dict[str, Figures],
            names: dict[str, str]) -> str:
    lines = [title]
    for label, item in groups.items():
        shown = t._("not recorded") if label == figures.NOT_RECORDED else (
            t._(names[label]) if label in names else label)
        lines.append(t._("{group}: plan, work or a measure within 5 working days {plan}; "
                         "closed within 12 months {closed}; self-supporting after 6 months "
                         "{supporting}; attendance {share}",
                         group=shown, plan=_percent(t, item.first_plan.on_time),
                         closed=_percent(t, item.closed_within_12_months),
                         supporting=_percent(t, item.follow_ups.self_supporting),
                         share=_percent(t, item.attendance)))
    return "\n".join(lines)


def _percent(t: Translator, share: Share) -> str:
    if share.rate is None:
        return "—"
    return t._("{percent} % ({hits} of {total})", percent=round(100 * share.rate),
               hits=share.hits, total=share.total)


def _days(t: Translator, mean: float | None, count: int) -> str:
    if mean is None:
        return "—"
    return t.ngettext("{days} days on average ({count} aspirant)",
                      "{days} days on average ({count} aspirants)", count,
                      days=t.number(mean))


def _section(t: Translator, item: Figures) -> str:
    plan = item.first_plan
    median = plan.median_days
    lines = [
        item.name,
        t._("Plan, work or a measure within 5 working days of the intake: {share}",
            share=_percent(t, plan.on_time)),
        "  " + t._("by plan {plan}, work {work}, studies {studies}, a measure {measure}; not "
                   "yet due {pending}; left before the deadline {left}",
                   plan=plan.met_by.get("plan", 0), work=plan.met_by.get("work", 0),
                   studies=plan.met_by.get("studies", 0),
                   measure=plan.met_by.get("measure", 0), pending=plan.pending,
                   left=plan.left_before_due),
        t._("A job within 5 working days: {share}", share=_percent(t, plan.job_within_five_days)),
        t._("Median working days to the first plan: {days}",
            days="—" if median is None else median),
        t._("Deepened plan on time: {share}", share=_percent(t, item.deepened_plan.on_time)),
        t._("Reviews on time: {share}", share=_percent(t, item.reviews.on_time)),
        t._("Plans waiting for the aspirant's confirmation: {count}",
            count=plan.awaiting_confirmation + item.deepened_plan.awaiting_confirmation
            + item.reviews.awaiting_confirmation),
        t._("Enrolled without an intake recorded: {count}", count=item.enrolled_without_intake),
        t._("Closed within 12 months, not counting those sent back: {share}",
            share=_percent(t, item.closed_within_12_months)),
        t._("Self-supporting 6 months after leaving: {share}",
            share=_percent(t, item.follow_ups.self_supporting)),
        t._("Time enrolled until work or studies, aged 16–24: {days}",
            days=_days(t, item.young_mean_days_to_work_or_studies,
                       len(item.young_days_to_work_or_studies))),
        t._("Attendance: {share}", share=_percent(t, item.attendance)),
        t._("Aspirants with 2 or more unexcused absences in a row: {count}",
            count=item.aspirants_with_streak(2)),
        t._("No-shows at information sessions: {share}", share=_percent(t, item.session_no_shows)),
    ]
    if item.absence_days_by_reason:
        reasons = ", ".join(
            f"{t._(ABSENCE_REASON_NAMES[AbsenceReason(r)])} {n}"
            for r, n in sorted(item.absence_days_by_reason.items()))
        lines.append(t._("Absence days by reason: {reasons}", reasons=reasons))
    sent = item.reminders.get("sent", 0)
    failed = item.reminders.get("failed", 0)
    skipped = {k.removeprefix("skipped:"): n for k, n in item.reminders.items()
               if k.startswith("skipped:")}
    lines.append(t._("Messages sent {sent}, failed {failed}, skipped {skipped}",
                     sent=sent, failed=failed, skipped=sum(skipped.values())))
    if skipped:
        # Skip reasons are short codes an admin can look up (e.g. expired, quiet_hours).
        lines.append(", ".join(f"{reason}: {n}" for reason, n in sorted(skipped.items())))
    return "\n".join(lines)


def register(application: Application) -> None:
    application.add_handler(CommandHandler("report", report_command))
