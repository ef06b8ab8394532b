"""``jobbot outbox status`` and ``jobbot outbox why --person ID``: the outbox for an operator.

Kinds, states, error codes and ids only: no message text and no name is printed.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.cli_common import session_factory
from bot.clock import SystemClock
from bot.db import unit_of_work
from bot.errors import JobbotError
from bot.services.messaging import queue_view
from bot.settings import Settings

# Why a message was not sent, in words a coach can pass on.
REASONS = {
    "no_recipient": "the person has no chat with the bot (not enrolled yet, or erased)",
    "unreachable": "the person blocked the bot or deleted their Telegram account",
    "expired": "its moment had passed before it could be sent",
    "rule_disabled": "the reminder rule was switched off",
    "rule_changed": "the reminder rule was changed",
    "settings_changed": "the job centre's reminder settings were changed",
    "policy_changed": "the attendance policy was changed",
    "requirement_changed": "the daily check-in requirement was changed",
    "attendance_recorded": "attendance at the session had already been recorded",
    "booking_cancelled": "the booking was cancelled",
    "rebooked": "the person booked another session",
    "session_cancelled": "the session was cancelled",
    "session_changed": "the session was moved",
    "rescheduled": "the event was moved",
    "milestone_cancelled": "the plan deadline was removed",
    "milestone_done": "the plan step was already done",
    "enrolment_ended": "the person had left the job centre",
    "no_requirement": "the person has no daily check-in",
    "checked_in_or_absent": "they had already checked in, or an absence was recorded, that day",
    "excused": "the absence was excused",
    "quiet_hours": "it fell in the job centre's quiet hours",
    "merged": "another reminder due at the same moment said it",
    "person_erased": "the person's data was erased",
    "retention": "the person's data was erased after the retention period",
    "stop": "the person asked the bot to stop",
    "reachable_again": "planned anew when the person wrote to the bot again",
    "cancelled": "cancelled",
}


def explain_error(error: str | None) -> str:
    if not error:
        return ""
    if error == "403":
        return "Telegram: the person blocked the bot (403)"
    if error == "429":
        return "Telegram asked the bot to wait (429)"
    if error.startswith("400"):
        return f"Telegram refused the message as wrong ({error})"
    if error.startswith("render"):
        return f"the message could not be worded ({error}): a fault of the bot"
    return f"Telegram did not answer ({error})"


def add_commands(commands: Any) -> None:
    parser = commands.add_parser(
        "outbox", help="what the bot is sending: the queue, and one person's messages",
        description="The outbox holds every message the bot sends on its own initiative "
                    "(reminders, notices, alerts, replies waiting for Telegram).")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    actions.add_parser(
        "status", help="queue by state and kind, lateness, senders, failures in the last hour",
    ).set_defaults(run=status_command)
    why = actions.add_parser(
        "why", help="a person's recent and planned messages, each with its outcome or the "
                    "reason it was not sent")
    why.add_argument("--person", required=True, type=_person_id, metavar="ID",
                     help="the person's id (as shown in the admin views and audit log)")
    why.add_argument("--days", type=_days, default=14,
                     help="how far back to look (default 14 days)")
    why.set_defaults(run=why_command)


def _person_id(text: str) -> int:
    if not text.isdecimal() or len(text) > 10 or not 0 < int(text) < 2**31:
        raise argparse.ArgumentTypeError(f"not a person id (a positive number): {text!r}")
    return int(text)


def _days(text: str) -> int:
    if not text.isdecimal() or len(text) > 3 or not 1 <= int(text) <= 366:
        raise argparse.ArgumentTypeError(f"not a number of days (1-366): {text!r}")
    return int(text)


# --- status --------------------------------------------------------------------------------
def status_command(args: argparse.Namespace, settings: Settings) -> int:
    now = SystemClock().now()
    with unit_of_work(session_factory(settings)) as db:
        report = queue_view.status(db, now)
    print("\n".join(format_status(report, ZoneInfo(settings.timezone))))
    return 0


def format_status(report: queue_view.QueueStatus, zone: ZoneInfo) -> list[str]:
    lines = [f"Outbox at {_at(report.now, zone)} ({zone.key})", ""]
    lines.append("Queue by state and kind:")
    lines += _table(report.queued) or ["  empty"]
    if report.oldest_due is not None:
        lines.append(f"Due now: {report.due_now}; the oldest is {_span(report.lateness)} late "
                     f"(due {_at(report.oldest_due, zone)})")
    else:
        lines.append("Due now: nothing")
    if report.next_due is not None:
        lines.append(f"Next planned: {_at(report.next_due, zone)} "
                     f"(in {_span(report.next_due - report.now)})")
    if report.senders:
        lines.append("Being sent: " + "; ".join(
            f"{s.rows} by {s.name} (its lease holds {s.lease_left:.0f} s more unless renewed)"
            for s in report.senders))
    if report.lapsed:
        lines.append(f"Lapsed leases: {report.lapsed} (their sender stopped; the next look "
                     "sends them again)")
    if report.held_for > 0:
        lines.append(f"Telegram asked the bot to wait: {report.held_for:.0f} s left")
    lines += ["", "Failed in the last hour:"]
    lines += [f"  {n:>6}  {explain_error(error)}" for error, n in report.failures] or ["  none"]
    if report.retrying:
        lines += ["", "Waiting to be tried again:"]
        lines += [f"  {n:>6}  {explain_error(error)}" for error, n in report.retrying]
    if report.last_day:
        lines += ["", "Due in the last 24 hours, by outcome:"]
        lines += _table(report.last_day)
    return lines


def _table(rows: list[tuple[str, str, int]]) -> list[str]:
    return [f"  {state:<10} {kind:<32} {count:>7}" for state, kind, count in rows]


# --- why -----------------------------------------------------------------------------------
def why_command(args: argparse.Namespace, settings: Settings) -> int:
    now = SystemClock().now()
    with unit_of_work(session_factory(settings)) as db:
        found = queue_view.person(db, now, args.person, days=args.days)
    if found is None:
        raise JobbotError(f"no person with id {args.person}")
    print("\n".join(format_person(found, now, ZoneInfo(settings.timezone), args.days)))
    return 0


def format_person(found: queue_view.PersonMessages, now: datetime, zone: ZoneInfo,
                  days: int) -> list[str]:
    roles = ", ".join(found.roles) or "no role"
    lines = [f"Person {found.person_id} ({roles}, language {found.language}): "
             f"{_reachability(found, zone)}", ""]
    if not found.messages:
        lines.append(f"No messages due in the last {days} days and none planned.")
        return lines
    lines.append(f"Messages due in the last {days} days and planned (times in {zone.key}):")
    for message in found.messages:
        lines.append(f"  #{message.id:<7} {_at(message.due_at, zone)}  {message.kind:<28} "
                     f"{_outcome(message, now, zone)}")
    return lines


def _reachability(found: queue_view.PersonMessages, zone: ZoneInfo) -> str:
    if found.erased_at is not None:
        return f"erased on {_at(found.erased_at, zone)}; nothing is sent"
    if not found.has_chat:
        return "no chat with the bot yet; nothing can be sent"
    if found.unreachable_at is not None:
        return (f"blocked the bot on {_at(found.unreachable_at, zone)}; nothing is sent until "
                "they write to it again")
    return "reachable through the bot"


def _outcome(message: queue_view.PersonMessage, now: datetime, zone: ZoneInfo) -> str:
    status = message.status
    tries = f"{message.attempts} attempt{'s' if message.attempts != 1 else ''}"
    if status == "sent" and message.sent_at is not None:
        return f"sent {_at(message.sent_at, zone)} ({tries})"
    if status == "failed":
        return f"failed: {explain_error(message.last_error)} ({tries})"
    if status in ("skipped", "cancelled"):
        reason = message.skip_reason or "cancelled"
        return f"{'not sent' if status == 'skipped' else 'cancelled'}: " \
               f"{REASONS.get(reason, reason)}"
    if status == "sending":
        return "being sent now"
    # pending
    if message.due_at > now:
        text = f"planned, due in {_span(message.due_at - now)}"
    else:
        text = f"due {_span(now - message.due_at)} ago, waiting to be sent"
    if message.last_error:
        text += f"; last try: {explain_error(message.last_error)} ({tries})"
    if message.expires_at is not None:
        text += f"; dropped if not sent by {_at(message.expires_at, zone)}"
    return text


def _at(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def _span(delta: timedelta | None) -> str:
    if delta is None:
        return "-"
    seconds = int(max(0.0, delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{seconds} s"
