"""``jobbot session add|edit|cancel|list|import`` and ``jobbot rule list|add|edit|enable|
disable|defaults|settings``: information sessions and reminder rules from the command line.

Times are read and shown in the job centre's zone. A schedule file is checked as a
whole first: one bad row and nothing is created, with every problem listed.
"""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.clock import SystemClock
from bot.db import unit_of_work
from bot.errors import JobbotError
from bot.models import Audience, EventKind, InfoSession, JobCentre
from bot.services.centres import centres
from bot.services.reminders import rules as reminder_rules
from bot.services.reminders import settings as reminder_settings
from bot.services.sessions import info_sessions
from bot.services.sessions import schedule as session_schedule
from bot.settings import Settings


def add_commands(commands: Any) -> None:
    session = commands.add_parser("session", help="information sessions")
    actions = session.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    add = actions.add_parser("add", help="add an information session")
    add.add_argument("--centre", required=True, help="job centre name")
    add.add_argument("--start", required=True,
                     help=f"local date and time, with an optional end: '{info_sessions.WHEN_EXAMPLE}'")
    add.add_argument("--place", help="address or room (default: the centre's address)")
    add.add_argument("--capacity", type=int, default=20)
    add.add_argument("--language", default="sv", help="language the session is held in")
    add.set_defaults(run=session_add_command)

    edit = actions.add_parser("edit", help="change a session; booked aspirants are told")
    edit.add_argument("id", type=int)
    edit.add_argument("--start", help=f"new local date and time, e.g. '{info_sessions.WHEN_EXAMPLE}'")
    edit.add_argument("--place")
    edit.add_argument("--capacity", type=int)
    edit.add_argument("--language")
    edit.set_defaults(run=session_edit_command)

    cancel = actions.add_parser("cancel", help="cancel a session; booked aspirants are told "
                                               "and offered other times")
    cancel.add_argument("id", type=int)
    cancel.set_defaults(run=session_cancel_command)

    listing = actions.add_parser("list", help="list sessions from today on")
    listing.add_argument("--centre", help="only this job centre")
    listing.add_argument("--days-back", type=int, default=0, help="also this many past days")
    listing.set_defaults(run=session_list_command)

    bulk = actions.add_parser(
        "import", help="add a term's sessions from a CSV file (all or nothing)",
        description="Columns: " + ", ".join(session_schedule.COLUMNS) + ". Required: "
                    + ", ".join(session_schedule.REQUIRED) + ". date YYYY-MM-DD, start and end "
                    "HH:MM local time (default length 2 hours), capacity default 20, "
                    "language default sv.",
    )
    bulk.add_argument("file", type=Path)
    bulk.add_argument("--dry-run", action="store_true", help="only check the file")
    bulk.set_defaults(run=session_import_command)

    rule = commands.add_parser("rule", help="reminder rules and quiet hours")
    rule_actions = rule.add_subparsers(dest="action", metavar="ACTION")
    rule_actions.required = True
    rule_list = rule_actions.add_parser("list", help="list the reminder rules")
    rule_list.add_argument("--centre", help="general rules and this centre's")
    rule_list.set_defaults(run=rule_list_command)

    rule_add = rule_actions.add_parser("add", help="add a reminder rule")
    rule_add.add_argument("--event", required=True, choices=[k.value for k in EventKind])
    rule_add.add_argument("--audience", required=True, choices=[a.value for a in Audience])
    _rule_options(rule_add)
    rule_add.add_argument("--centre", help="only at this job centre (default: everywhere)")
    rule_add.set_defaults(run=rule_add_command)

    rule_edit = rule_actions.add_parser("edit", help="change a reminder rule")
    rule_edit.add_argument("id", type=int)
    rule_edit.add_argument("--audience", choices=[a.value for a in Audience])
    _rule_options(rule_edit)
    rule_edit.set_defaults(run=rule_edit_command)

    for name, enabled in (("enable", True), ("disable", False)):
        toggle = rule_actions.add_parser(name, help=f"{name} a reminder rule")
        toggle.add_argument("id", type=int)
        toggle.set_defaults(run=rule_toggle_command, enabled=enabled)

    defaults = rule_actions.add_parser(
        "defaults", help="create the default rules if there are none yet")
    defaults.add_argument("--centre", help="for this job centre (default: everywhere)")
    defaults.set_defaults(run=rule_defaults_command)

    quiet = rule_actions.add_parser("settings", help="a job centre's quiet hours and deadlines")
    quiet.add_argument("--centre", required=True)
    quiet.add_argument("--quiet", help="local quiet hours, e.g. 20:00-08:00 (equal: none)")
    quiet.add_argument("--quiet-weekends", choices=["yes", "no"])
    quiet.add_argument("--deadlines", choices=["working", "calendar"],
                       help="count plan deadlines in working days or calendar days")
    quiet.set_defaults(run=rule_settings_command)


def _rule_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--offset", help="before (-) or after (+) the event: -1d, -2h, -30m, "
                                         "+1wd (working days), 0")
    parser.add_argument("--at", help="local time of day, e.g. 09:00")
    parser.add_argument("--text", action="append", default=[], metavar="LANG=TEXT",
                        help="the rule's own text in a language (repeatable); placeholders "
                             "like {date} are filled in")


def _sessions(settings: Settings):  # type: ignore[no-untyped-def]
    from bot.cli_common import session_factory

    return session_factory(settings)


def _centre(db, name: str) -> JobCentre:  # type: ignore[no-untyped-def]
    centre = centres.by_name(db, name)
    if centre is None:
        raise JobbotError(f"unknown job centre {name!r}")
    return centre


def _line(session: InfoSession, booked: int) -> str:
    zone = ZoneInfo(session.job_centre.timezone)
    start, end = session.starts_at.astimezone(zone), session.ends_at.astimezone(zone)
    state = " CANCELLED" if session.cancelled_at is not None else ""
    return (f"{session.id}\t{start:%Y-%m-%d %a %H:%M}-{end:%H:%M}\t{booked}/{session.capacity}"
            f"\t{session.language}\t{session.job_centre.name}\t{session.place}{state}")


def session_add_command(args: argparse.Namespace, settings: Settings) -> int:
    now = SystemClock().now()
    with unit_of_work(_sessions(settings)) as db:
        centre = _centre(db, args.centre)
        start, duration = info_sessions.parse_when(args.start, ZoneInfo(centre.timezone))
        session = info_sessions.create(
            db, now, job_centre=centre, starts_at=start,
            duration=duration or session_schedule.DEFAULT_DURATION, place=args.place,
            language=args.language, capacity=args.capacity)
        print(_line(session, 0))
        reason = info_sessions.day_off(db, centre.id, start)
    if reason is not None:
        kind, note = reason
        print(f"warning: {start:%Y-%m-%d} is not a working day at {args.centre} "
              f"({note or kind})", file=sys.stderr)
    return 0


def session_edit_command(args: argparse.Namespace, settings: Settings) -> int:
    now = SystemClock().now()
    with unit_of_work(_sessions(settings)) as db:
        session = db.get(InfoSession, args.id)
        if session is None:
            raise JobbotError(f"no information session {args.id}")
        start = duration = None
        if args.start:
            start, duration = info_sessions.parse_when(args.start, info_sessions.zone_of(session))
        changed = info_sessions.update(db, now, session.id, starts_at=start, duration=duration,
                                       place=args.place, capacity=args.capacity,
                                       language=args.language)
        booked = info_sessions.booked_count(db, session.id)
        print(_line(session, booked))
    print(f"changed: {', '.join(changed) or 'nothing'}", file=sys.stderr)
    return 0


def session_cancel_command(args: argparse.Namespace, settings: Settings) -> int:
    now = SystemClock().now()
    with unit_of_work(_sessions(settings)) as db:
        told = info_sessions.cancel(db, now, args.id)
    print(f"information session {args.id} cancelled; {told} booked aspirant(s) told")
    return 0


def session_list_command(args: argparse.Namespace, settings: Settings) -> int:
    now = SystemClock().now()
    with unit_of_work(_sessions(settings)) as db:
        query = select(InfoSession).where(
            InfoSession.starts_at >= now - timedelta(days=max(0, args.days_back)))
        if args.centre:
            query = query.where(InfoSession.job_centre_id == _centre(db, args.centre).id)
        found = list(db.scalars(query.order_by(InfoSession.starts_at)))
        for session in found:
            print(_line(session, info_sessions.booked_count(db, session.id)))
    if not found:
        since = "today" if args.days_back <= 0 else f"the last {args.days_back} days"
        where = f" at {args.centre}" if args.centre else ""
        print(f"no information sessions{where} from {since} on "
              "(add one with 'jobbot session add')", file=sys.stderr)
    return 0


def session_import_command(args: argparse.Namespace, settings: Settings) -> int:
    try:
        with args.file.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as error:
        raise JobbotError(f"cannot read {args.file}: {error.strerror}") from None
    now = SystemClock().now()
    with unit_of_work(_sessions(settings)) as db:
        try:
            if args.dry_run:
                planned = session_schedule.check(db, now, rows)
                print(f"{args.file}: {len(planned)} session(s), no problems", file=sys.stderr)
                return 0
            created = session_schedule.import_rows(db, now, rows)
        except session_schedule.ScheduleRejected as rejected:
            raise JobbotError(f"{args.file}: {rejected}") from None
        for session in created:
            print(_line(session, 0))
    print(f"{len(created)} information session(s) created", file=sys.stderr)
    return 0


# --- rules --------------------------------------------------------------------------------
def _describe(rule) -> str:  # type: ignore[no-untyped-def]
    scope = f"centre {rule.job_centre_id}" if rule.job_centre_id else "everywhere"
    state = "" if rule.enabled else " (disabled)"
    texts = ",".join(sorted(rule.texts)) if rule.texts else "built-in text"
    return (f"{rule.id}\t{rule.event_kind.value}\t{rule.audience.value}\t"
            f"{reminder_rules.format_offset(rule)}\t{scope}\t{texts}{state}")


def _texts(values: list[str]) -> dict[str, str]:
    texts = {}
    for value in values:
        language, sep, text = value.partition("=")
        if not sep:
            raise JobbotError(f"--text {value!r}: write it as LANG=TEXT, e.g. sv='Hej {{name}}'")
        texts[language.strip()] = text
    return texts


def _timing(args: argparse.Namespace) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if args.offset is not None:
        days, minutes, working = reminder_rules.parse_offset(args.offset)
        changes.update(offset_days=days, offset_minutes=minutes, working_days=working)
    if args.at is not None:
        changes["at_local_time"] = (None if args.at.strip() in ("", "-")
                                    else reminder_settings.parse_clock(args.at))
    if args.text:
        changes["texts"] = _texts(args.text)
    return changes


def rule_list_command(args: argparse.Namespace, settings: Settings) -> int:
    with unit_of_work(_sessions(settings)) as db:
        centre_id = _centre(db, args.centre).id if args.centre else None
        for rule in reminder_rules.listed(db, centre_id, everything=not args.centre):
            print(_describe(rule))
    return 0


def rule_add_command(args: argparse.Namespace, settings: Settings) -> int:
    now = SystemClock().now()
    with unit_of_work(_sessions(settings)) as db:
        centre = _centre(db, args.centre) if args.centre else None
        spec = reminder_rules.RuleSpec(EventKind(args.event), Audience(args.audience),
                                       **_timing(args))
        print(_describe(reminder_rules.create(db, now, spec, job_centre=centre)))
    return 0


def rule_edit_command(args: argparse.Namespace, settings: Settings) -> int:
    now = SystemClock().now()
    changes = _timing(args)
    if args.audience:
        changes["audience"] = Audience(args.audience)
    if not changes:
        raise JobbotError("nothing to change: give --offset, --at, --audience or --text")
    with unit_of_work(_sessions(settings)) as db:
        print(_describe(reminder_rules.update(db, now, args.id, **changes)))
    return 0


def rule_toggle_command(args: argparse.Namespace, settings: Settings) -> int:
    now = SystemClock().now()
    with unit_of_work(_sessions(settings)) as db:
        print(_describe(reminder_rules.set_enabled(db, now, args.id, args.enabled)))
    return 0


def rule_defaults_command(args: argparse.Namespace, settings: Settings) -> int:
    now = SystemClock().now()
    with unit_of_work(_sessions(settings)) as db:
        centre = _centre(db, args.centre) if args.centre else None
        created = reminder_rules.install_defaults(db, now, job_centre=centre)
        for rule in created:
            print(_describe(rule))
    print(f"{len(created)} rule(s) created" if created else "rules exist already; nothing "
          "created", file=sys.stderr)
    return 0


def rule_settings_command(args: argparse.Namespace, settings: Settings) -> int:
    now = SystemClock().now()
    changes: dict[str, Any] = {}
    if args.quiet:
        start, sep, end = args.quiet.partition("-")
        if not sep:
            raise JobbotError("--quiet: write it as START-END, e.g. 20:00-08:00")
        changes["quiet_start"] = reminder_settings.parse_clock(start)
        changes["quiet_end"] = reminder_settings.parse_clock(end)
    if args.quiet_weekends:
        changes["quiet_weekends"] = args.quiet_weekends == "yes"
    if args.deadlines:
        changes["deadline_calendar_days"] = args.deadlines == "calendar"
    with unit_of_work(_sessions(settings)) as db:
        centre = _centre(db, args.centre)
        if changes:
            reminder_settings.update(db, now, centre, **changes)
        current = reminder_settings.for_centre(db, centre.id)
    quiet = current.quiet
    print(f"quiet hours {quiet.start:%H:%M}-{quiet.end:%H:%M}, weekends "
          f"{'quiet' if quiet.weekends else 'allowed'}, deadlines in "
          f"{'calendar' if current.deadline_calendar_days else 'working'} days")
    return 0
