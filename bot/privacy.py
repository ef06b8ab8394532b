"""What every column of every table holds about people, declared in one place.

Like Moodle's privacy API, nothing is left to memory: each column is declared as

* ``PERSONAL`` — it identifies a person or says something about them in words (a name,
  a Telegram id, a note): /mydata shows it to them, and erasure (/stop, and retention
  after they left) blanks it;
* ``TRANSIENT`` — working state tied to a person's account (a conversation step, an
  attempt counter): not shown, deleted by erasure and when it lapses;
* ``LINKED`` — a fact tied to a person only through an id (an attendance day, a
  booking): /mydata summarises it, and once the person row is erased it is anonymous,
  kept for the figures the city needs;
* ``NOT_PERSONAL`` — configuration and bookkeeping about no one.

``tests/test_privacy.py`` fails for a column without a declaration (so a new column is
a decision, not an accident) and proves, column by column, that every PERSONAL one is
shown by /mydata and blanked by /stop and by retention.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    PERSONAL = "personal"
    TRANSIENT = "transient"
    LINKED = "linked"
    NOT_PERSONAL = "not personal"


@dataclass(frozen=True)
class Declared:
    kind: Kind
    why: str


def personal(why: str) -> Declared:
    return Declared(Kind.PERSONAL, why)


def transient(why: str) -> Declared:
    return Declared(Kind.TRANSIENT, why)


def linked(why: str) -> Declared:
    return Declared(Kind.LINKED, why)


def not_personal(why: str) -> Declared:
    return Declared(Kind.NOT_PERSONAL, why)


_ID = not_personal("row id")
_CONFIG = not_personal("configuration made by staff")
_WHEN = linked("when something happened to the person's record")
_BY = linked("which member of staff did it (a person id)")

REGISTRY: dict[str, dict[str, Declared]] = {
    "person": {
        "id": linked("the anonymous id figures count once the person is erased"),
        "telegram_user_id": personal("to recognise them in Telegram"),
        "chat_id": personal("to send them messages"),
        "display_name": personal("their first name as shown in Telegram, for their coach"),
        "language": linked("the language they read; not identifying on its own"),
        "consent_at": _WHEN,
        "gender": personal("recorded by a coach for figures, where switched on"),
        "birth_year": personal("recorded by a coach for figures, where switched on"),
        "unreachable_at": _WHEN,
        "created_at": _WHEN,
        "erased_at": _WHEN,
    },
    "role_grant": {
        "id": _ID, "person_id": linked("whose role"), "role": linked("the role"),
        "job_centre_id": linked("where"), "granted_at": _WHEN, "granted_by_id": _BY,
    },
    "enrolment": {
        "id": _ID, "aspirant_id": linked("whose enrolment"), "job_centre_id": linked("where"),
        "coach_id": _BY, "attendance_required": linked("their requirement"),
        "invite_id": linked("the invite they came with"), "enrolled_at": _WHEN,
        "left_at": _WHEN, "exit_reason": linked("work, studies, sent back… for the figures"),
        "intake_on": _WHEN,
        "social_worker_id": linked("the social worker who follows them (a person id); "
                                   "cleared on erasure"),
    },
    "invite": {
        "id": _ID, "code": not_personal("a random code"), "role": _CONFIG,
        "job_centre_id": _CONFIG, "coach_id": _BY,
        "info_session_id": _CONFIG, "attendance_required": _CONFIG, "created_by_id": _BY,
        "created_at": _CONFIG, "expires_at": _CONFIG, "used_at": _WHEN,
        "used_by_id": linked("who used it"), "revoked_at": _CONFIG,
        "opened_by_user_id": personal("the Telegram account holding an unused invite"),
        "opened_at": linked("when the invite was first opened"),
    },
    "job_centre": {
        "id": _ID, "name": _CONFIG, "address": _CONFIG, "latitude": _CONFIG,
        "longitude": _CONFIG, "timezone": _CONFIG, "created_at": _CONFIG,
        "disabled_at": _CONFIG,
    },
    "attendance_policy": {
        column: _CONFIG for column in (
            "id", "job_centre_id", "weekdays", "window_start", "window_end", "grace_minutes",
            "streak_limit", "window_limit", "window_days", "alert_resend_minutes",
            "digest_time", "location_rule", "accept_location_pin", "radius_m",
            "code_step_seconds", "code_secret", "version", "created_at", "updated_at",
            "alert_delay_minutes", "absence_reasons")
    },
    "attendance_record": {
        "id": _ID, "enrolment_id": linked("whose day"), "day": _WHEN,
        "status": linked("present or absent"), "method": linked("how it was recorded"),
        "evidence": linked("what proved presence"), "recorded_at": _WHEN,
        "recorded_by_id": _BY, "absence_report_id": linked("the report explaining it"),
        "judged_by_id": _BY, "judged_at": _WHEN,
    },
    "absence_report": {
        "id": _ID, "enrolment_id": linked("whose absence"), "first_day": _WHEN,
        "last_day": _WHEN, "reason": linked("one of the listed reasons"),
        "note": personal("the reason in their own words"), "reported_at": _WHEN,
        "reported_by_id": _BY,
        "judgement": linked("valid or not valid, as the coach judged it"),
        "judged_by_id": _BY, "judged_at": _WHEN,
    },
    "closed_day": {"id": _ID, "job_centre_id": _CONFIG, "day": _CONFIG, "note": _CONFIG},
    "attendance_day": {
        "id": _ID, "job_centre_id": _CONFIG, "day": _CONFIG,
        "detected_at": not_personal("when the day's work ran"),
        "digest_at": not_personal("when the day's work ran"),
        "alerted_at": not_personal("when the day's work ran"),
        "weekly_at": not_personal("when the day's work ran"),
    },
    "coach_alert": {
        "id": _ID, "coach_id": _BY, "job_centre_id": _CONFIG, "day": _WHEN,
        "created_at": _WHEN, "acknowledged_at": _WHEN, "resent_at": _WHEN,
        "sent_at": _WHEN,
    },
    "coach_alert_item": {
        "id": _ID, "alert_id": linked("the alert"), "enrolment_id": linked("whose absence"),
        "record_id": linked("the day"), "escalation": linked("which rule it reached"),
        "action": linked("what the coach did"), "acted_at": _WHEN, "acted_by_id": _BY,
    },
    "attendance_note": {
        "id": _ID, "enrolment_id": linked("about whom"), "day": _WHEN, "author_id": _BY,
        "text": personal("what a coach wrote about them"), "created_at": _WHEN,
    },
    "reminder_rule": {
        column: _CONFIG for column in (
            "id", "job_centre_id", "event_kind", "offset_days", "offset_minutes",
            "working_days", "at_local_time", "audience", "texts", "enabled", "created_at",
            "updated_at")
    },
    "outbox_message": {
        "id": _ID, "recipient_id": linked("to whom"),
        "chat_id": transient("a reply to a chat not known yet; cleared once sent"),
        "priority": not_personal("delivery order"), "kind": not_personal("what it is"),
        "template": not_personal("the text's message id, or a rule's text"),
        "params": personal("what a message to them says (names, places, times)"),
        "rule_id": _CONFIG, "event_key": linked("which event it is about (ids)"),
        "dedupe_key": linked("ids that keep it from being sent twice"),
        "due_at": _WHEN, "expires_at": _WHEN, "status": not_personal("delivery state"),
        "attempts": not_personal("delivery state"), "claimed_by": not_personal("worker"),
        "claimed_at": not_personal("delivery state"), "sent_at": _WHEN,
        "telegram_message_id": linked("the sent message's id in their chat"),
        "last_error": not_personal("Telegram's answer, without message texts"),
        "skip_reason": not_personal("why it was not sent"), "created_at": _WHEN,
        "lease_until": not_personal("delivery state"),
        "last_attempt_at": not_personal("delivery state"),
    },
    "send_budget": {
        column: not_personal("the bot's shared pace of sending, about no one")
        for column in ("name", "next_slot", "held_until")
    },
    "reminder_settings": {
        column: _CONFIG for column in (
            "id", "job_centre_id", "quiet_start", "quiet_end", "quiet_weekends",
            "deadline_calendar_days", "updated_at")
    },
    "plan_milestone": {
        "id": _ID, "enrolment_id": linked("whose plan"), "kind": linked("which plan"),
        "due_on": _WHEN, "counted_from": _WHEN, "done_at": _WHEN, "done_by_id": _BY,
        "created_at": _WHEN, "cancelled_at": _WHEN,
        "confirmed_at": _WHEN, "questions_at": _WHEN,
        "measure_on": linked("when a measure (work training, internship, course) began"),
    },
    "exit_follow_up": {
        "id": _ID, "enrolment_id": linked("whose follow-up"), "due_on": _WHEN,
        "outcome": linked("self-supporting or not, kept anonymously for the figures"),
        "recorded_at": _WHEN, "recorded_by_id": _BY, "created_at": _WHEN,
    },
    "info_session": {
        column: _CONFIG for column in (
            "id", "job_centre_id", "starts_at", "ends_at", "place", "latitude", "longitude",
            "language", "capacity", "created_at", "updated_at", "cancelled_at")
    },
    "booking": {
        "id": _ID, "info_session_id": linked("which session"),
        "aspirant_id": linked("who booked"), "status": linked("booked, came, …"),
        "created_at": _WHEN, "updated_at": _WHEN,
    },
    "conversation_state": {
        "id": _ID,
        "telegram_user_id": transient("whose conversation"),
        "chat_id": transient("in which chat"),
        "flow": transient("which conversation"), "step": transient("where in it"),
        "data": transient("what was answered so far (a draft)"),
        "updated_at": transient("when"), "expires_at": transient("when it lapses"),
    },
    "replan_request": {
        column: not_personal("bookkeeping of re-planning a centre's reminders")
        for column in ("id", "job_centre_id", "kinds", "reason", "requested_at", "generation",
                       "phase", "after_id", "claimed_by", "lease_until")
    },
    "console_sign_in_link": {
        "id": _ID, "person_id": transient("whose link to the staff console"),
        "token_hash": transient("a hash of the one-time link (the link itself is not kept)"),
        "created_at": transient("when it was made"), "expires_at": transient("when it lapses"),
        "used_at": transient("when it was used"),
    },
    "console_session": {
        "id": _ID, "person_id": transient("whose session in the staff console"),
        "token_hash": transient("a hash of the session cookie (the cookie is not kept)"),
        "language": transient("the console's language for this session"),
        "created_at": transient("when they signed in"),
        "last_seen_at": transient("when the session was last used"),
        "expires_at": transient("when it lapses"), "ended_at": transient("when it was ended"),
    },
    "throttle": {
        "id": _ID,
        "key": transient("the account or person whose attempts are counted"),
        "window_started_at": transient("the counting window"),
        "count": transient("attempts in the window"),
    },
    "audit_log": {
        "id": _ID, "at": _WHEN, "actor_id": _BY, "action": not_personal("what was done"),
        "subject_type": not_personal("what kind of record"),
        "subject_id": linked("which record (an id)"),
        "details": linked("ids and settings only, never names or message texts"),
    },
    "setting": {
        "id": _ID, "key": _CONFIG, "value": _CONFIG, "updated_at": _CONFIG,
        "updated_by_id": _BY,
    },
}


def declared(table: str, column: str) -> Declared | None:
    return REGISTRY.get(table, {}).get(column)


def columns_of(kind: Kind) -> list[tuple[str, str]]:
    """Every (table, column) declared as ``kind``."""
    return sorted((table, column) for table, columns in REGISTRY.items()
                  for column, declaration in columns.items() if declaration.kind == kind)
