"""Texts shown in several places, rendered in the reader's language."""

from __future__ import annotations

from telegram import InlineKeyboardButton

from bot.i18n import N_, Text, Translator
from bot.models import AbsenceReason, BookingStatus, InfoSession, MilestoneKind, Role
from bot.presentation.callbacks import Callback
from bot.transport import limits

# Role names as they read inside a sentence.
ROLE_NOUNS = {
    Role.ASPIRANT: N_("aspirant"),
    Role.COACH: N_("coach"),
    Role.TEAM_LEAD: N_("team lead"),
    Role.ADMIN: N_("administrator"),
    Role.SOCIAL_WORKER: N_("social worker"),
}
MILESTONE_NAMES = {
    MilestoneKind.FIRST_PLAN: N_("first job plan"),
    MilestoneKind.DEEPENED_PLAN: N_("deepened job plan"),
    MilestoneKind.REVIEW: N_("plan review"),
}
BOOKING_STATUS_NAMES = {
    BookingStatus.BOOKED: N_("booked"),
    BookingStatus.CANCELLED: N_("cancelled"),
    BookingStatus.ATTENDED: N_("attended"),
    BookingStatus.NO_SHOW: N_("did not come"),
}
ABSENCE_REASON_NAMES = {
    AbsenceReason.ILL: N_("ill"),
    AbsenceReason.SICK_CHILD: N_("sick child"),
    AbsenceReason.JOB_INTERVIEW: N_("job interview"),
    AbsenceReason.APPOINTMENT: N_("other appointment"),
    AbsenceReason.OTHER: N_("other reason"),
}


def session_summary(t: Translator, session: InfoSession) -> Text:
    t = t.in_zone(session.job_centre.timezone)
    return Text(t._(
        "{date}, {start}–{end}\n{place}",
        date=t.date(session.starts_at),
        start=t.time(session.starts_at),
        end=t.time(session.ends_at),
        place=session.place or session.job_centre.address,
    ))


def session_button(t: Translator, session: InfoSession, data: Callback) -> InlineKeyboardButton:
    t = t.in_zone(session.job_centre.timezone)
    label = f"{t.short_date(session.starts_at)} {t.time(session.starts_at)}"
    return InlineKeyboardButton(label, callback_data=data.encode())


def split_message(text: str, limit: int = limits.TEXT) -> list[str]:
    """Split at line breaks so no part exceeds Telegram's message limit."""
    return limits.split(text, limit)
