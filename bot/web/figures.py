"""The report's figures for a chosen period and job centre, with the weekly chart and a
CSV download (the same columns as ``jobbot report --format csv``).

Admins and team leads see the centres they administer or lead (one, or all of them);
a coach sees the figures of their own caseload, as with /report in the chat.
"""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.calendar import local_date
from bot.charts import weekly_chart, words_for
from bot.cli_report import rows as csv_rows
from bot.errors import DomainError, NotFound
from bot.i18n import N_, Translator
from bot.models import AbsenceReason, JobCentre, Role
from bot.presentation.views import ABSENCE_REASON_NAMES
from bot.services.figures import figures
from bot.services.figures.figures import Figures, Share
from bot.services.people import demographics, people
from bot.web.base import Viewer, in_console, query_int, render

DEFAULT_DAYS = 90
MAX_DAYS = 731
LEADS = (Role.ADMIN, Role.TEAM_LEAD)


@dataclass(frozen=True)
class Asked:
    first: str
    last: str
    centre: int | None  # None: every centre the viewer follows

    @classmethod
    def of(cls, request: web.Request) -> Asked:
        return cls(request.query.get("from", ""), request.query.get("to", ""),
                   query_int(request, "centre"))

    def query(self, first: date, last: date) -> str:
        text = f"from={first.isoformat()}&to={last.isoformat()}"
        return text + (f"&centre={self.centre}" if self.centre is not None else "")


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DomainError(N_("Not a date: {text}. Write it like 2026-03-31."),
                          text=text[:20]) from None


@dataclass
class Computed:
    report: figures.Report
    first: date
    last: date
    centres: list[dict[str, Any]]
    centre: int | None
    caseload_only: bool


def _compute(db: Session, viewer: Viewer, asked: Asked) -> Computed:
    today = local_date(viewer.now, viewer.t.zone)
    last = _day(asked.last) or today
    first = _day(asked.first) or last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise DomainError(N_("The period ends before it starts."))
    if (last - first).days >= MAX_DAYS:
        raise DomainError(N_("Choose a period of at most two years."))
    where = people.centres_where(viewer.person, *LEADS)
    if not where:
        # A coach: the figures of their own caseload (as /report in chat).
        report = figures.compute(db, first, last, coach_id=viewer.person.id)
        return Computed(report, first, last, [], None, True)
    query = select(JobCentre).order_by(JobCentre.name)
    if None not in where:
        query = query.where(JobCentre.id.in_([c for c in where if c is not None]))
    centres = list(db.scalars(query))
    if asked.centre is not None and asked.centre not in {c.id for c in centres}:
        raise NotFound(N_("That job centre no longer exists."))
    ids = [asked.centre] if asked.centre is not None else [c.id for c in centres]
    report = figures.compute(db, first, last, centre_ids=ids,
                             groups=demographics.enabled(db))
    return Computed(report, first, last, [{"id": c.id, "name": c.name} for c in centres],
                    asked.centre, False)


def _percent(t: Translator, share: Share) -> str:
    if share.rate is None:
        return "—"
    return t._("{percent} % ({hits} of {total})", percent=round(100 * share.rate),
               hits=share.hits, total=share.total)


def _column(t: Translator, item: Figures) -> list[str]:
    median = item.first_plan.median_days
    reasons = ", ".join(f"{t._(ABSENCE_REASON_NAMES[AbsenceReason(r)])} {n}"
                        for r, n in sorted(item.absence_days_by_reason.items())) or "—"
    skipped = {k.removeprefix("skipped:"): n for k, n in item.reminders.items()
               if k.startswith("skipped:")}
    return [
        _percent(t, item.first_plan.on_time),
        "—" if median is None else t.number(median),
        _percent(t, item.deepened_plan.on_time),
        _percent(t, item.reviews.on_time),
        _percent(t, item.attendance),
        t.number(item.aspirants_with_streak(2)),
        _percent(t, item.session_no_shows),
        reasons,
        t.number(item.reminders.get("sent", 0)),
        t.number(item.reminders.get("failed", 0)),
        t.number(sum(skipped.values())),
    ]


ROWS = (
    N_("First plan within 5 working days"),
    N_("Median working days to the first plan"),
    N_("Deepened plan on time"),
    N_("Reviews on time"),
    N_("Attendance"),
    N_("Aspirants with 2 or more unexcused absences in a row"),
    N_("No-shows at information sessions"),
    N_("Absence days by reason"),
    N_("Messages sent"),
    N_("Messages that could not be sent"),
    N_("Messages not sent (see the caseload for why)"),
)


async def index(request: web.Request) -> web.Response:
    asked = Asked.of(request)

    def work(db: Session, viewer: Viewer) -> dict[str, Any]:
        t = viewer.t
        try:
            computed = _compute(db, viewer, asked)
        except DomainError as problem:
            if isinstance(problem, NotFound):
                raise
            return {"problem": t._(problem.message, **problem.params)}
        report = computed.report
        columns = [(item.name, _column(t, item)) for item in report.centres]
        if len(report.centres) > 1:
            columns.append((t._("All"), _column(t, report.total)))
        if computed.caseload_only:
            columns = [(t._("Your aspirants"), _column(t, report.total))]
        groups = []
        for title, found, names in ((N_("By gender"), report.by_gender,
                                     demographics.GENDER_NAMES),
                                    (N_("By age band"), report.by_age_band, {})):
            if found:
                groups.append({"title": t._(title), "rows": [
                    {"group": t._("not recorded") if label == figures.NOT_RECORDED else
                     (t._(names[label]) if label in names else label),
                     "plan": _percent(t, item.first_plan.on_time),
                     "attendance": _percent(t, item.attendance)}
                    for label, item in found.items()]})
        query = asked.query(computed.first, computed.last)
        return {
            "problem": None, "first": computed.first.isoformat(),
            "last": computed.last.isoformat(),
            "heading": t._("Figures for {first} – {last}", first=t.short_date(computed.first),
                           last=t.short_date(computed.last)),
            "centres": computed.centres, "centre": computed.centre,
            "caseload_only": computed.caseload_only,
            "labels": [t._(label) for label in ROWS],
            "columns": [{"name": name, "values": values} for name, values in columns],
            "groups": groups, "query": query,
            "chart": any(share.total for series in (report.weekly_attendance,
                                                    report.weekly_first_plan)
                         for share in series.values()),
        }

    viewer, data = await in_console(request, work)
    if data.get("problem"):
        return render(request, "figures.html", viewer=viewer, section="figures", status=400,
                      first=request.query.get("from", ""), last=request.query.get("to", ""),
                      centres=[], centre=None, caseload_only=False, chart=False, **data)
    return render(request, "figures.html", viewer=viewer, section="figures", **data)


async def chart(request: web.Request) -> web.Response:
    asked = Asked.of(request)
    viewer, computed = await in_console(request, lambda db, viewer: _compute(db, viewer,
                                                                           asked))
    t = viewer.t
    report = computed.report
    # Drawing takes a moment of CPU: off the event loop, and off the database's threads.
    png = await asyncio.to_thread(
        weekly_chart, report.weekly_attendance, report.weekly_first_plan,
        first=report.first, last=report.last, words=words_for(t))
    return web.Response(body=png, content_type="image/png",
                        headers={"Cache-Control": "no-store"})


async def download(request: web.Request) -> web.Response:
    asked = Asked.of(request)
    _viewer, computed = await in_console(request, lambda db, viewer: _compute(db, viewer,
                                                                            asked))
    data = csv_rows(computed.report)
    columns: list[str] = []
    for row in data:
        columns += [key for key in row if key not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, restval=0)
    writer.writeheader()
    writer.writerows(data)
    name = f"figures-{computed.first.isoformat()}-{computed.last.isoformat()}.csv"
    # A byte order mark, so spreadsheets read the centres' names as UTF-8.
    return web.Response(body=buffer.getvalue().encode("utf-8-sig"),
                        content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
