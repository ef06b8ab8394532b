"""The buttons that go with reminders and session notices, drawn at send time.

Callback data carries only ids; the handlers check that the booking or milestone
belongs to whoever presses (handlers/reminder_answers.py, handlers/plans.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from telegram import InlineKeyboardButton

from bot.i18n import N_, Translator
from bot.models import OutboxMessage
from bot.presentation.callbacks import BookSession, MarkMilestoneDone, SessionAnswer
from bot.services.sessions.info_sessions import BOOKING_OFFER, SESSION_CANCELLED, SESSION_CHANGED

Rows = list[list[InlineKeyboardButton]]

COMING = N_("I'm coming")
NOT_COMING = N_("I can't come")
ADD_TO_CALENDAR = N_("Add to calendar")
SHOW_PLACE = N_("Show the place")
MARK_DONE = N_("Mark as done")


def session_answers(t: Translator, booking_id: int) -> Rows:
    return [
        [InlineKeyboardButton("✅ " + t._(COMING),
                              callback_data=SessionAnswer("y", booking_id).encode()),
         InlineKeyboardButton("❌ " + t._(NOT_COMING),
                              callback_data=SessionAnswer("n", booking_id).encode())],
        [InlineKeyboardButton("📅 " + t._(ADD_TO_CALENDAR),
                              callback_data=SessionAnswer("c", booking_id).encode()),
         InlineKeyboardButton("📍 " + t._(SHOW_PLACE),
                              callback_data=SessionAnswer("m", booking_id).encode())],
    ]


def offer_rows(t: Translator, offers: Any) -> Rows:
    rows = []
    for entry in offers or []:
        try:
            session_id, starts = int(entry[0]), datetime.fromisoformat(str(entry[1]))
        except (TypeError, ValueError, IndexError):
            continue
        label = f"{t.short_date(starts)} {t.time(starts)}"
        rows.append([InlineKeyboardButton(label, callback_data=BookSession(session_id).encode())])
    return rows


def _session_reminder(message: OutboxMessage, t: Translator) -> Rows:
    booking_id = message.params.get("booking_id")
    return session_answers(t, int(booking_id)) if booking_id else []


def _milestone_reminder(message: OutboxMessage, t: Translator) -> Rows:
    milestone_id = message.params.get("milestone_id")
    if not milestone_id:
        return []
    return [[InlineKeyboardButton("✓ " + t._(MARK_DONE),
                                  callback_data=MarkMilestoneDone(int(milestone_id)).encode())]]




def _session_changed(message: OutboxMessage, t: Translator) -> Rows:
    rows = offer_rows(t, message.params.get("offers"))
    booking_id = message.params.get("booking_id")
    if booking_id:
        rows.append([InlineKeyboardButton("📅 " + t._(ADD_TO_CALENDAR),
                                          callback_data=SessionAnswer("c", int(booking_id)).encode())])
    return rows


def _offers(message: OutboxMessage, t: Translator) -> Rows:
    return offer_rows(t, message.params.get("offers"))


# The buttons that go with each kind of reminder and session notice.
KEYBOARDS = {
    "reminder.info_session": _session_reminder,
    **{f"reminder.{kind}": _milestone_reminder
       for kind in ("first_plan", "deepened_plan", "review")},
    SESSION_CHANGED: _session_changed,
    SESSION_CANCELLED: _offers,
    BOOKING_OFFER: _offers,
}
