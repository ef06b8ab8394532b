"""The whole configuration as YAML, in the form ``config import`` reads.

Organisation settings, the general reminder rules and every job centre with its
closed days, reminder settings, attendance policy, own rules and upcoming
information sessions. No personal data: no people, staff, invites or bookings, and
not the key of the check-in codes. Everything is sorted by what identifies it, never
by database ids, so the same configuration is written byte for byte the same way.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config.schema import VERSION, WEEKDAYS, timing_key
from bot.config.yaml_text import Quoted, dump
from bot.i18n import LANGUAGES
from bot.models import (
    AttendancePolicy,
    Audience,
    ClosedDay,
    EventKind,
    InfoSession,
    JobCentre,
    ReminderRule,
)
from bot.services.attendance import policy as attendance_policy
from bot.services.centres import org_settings
from bot.services.reminders import rules as reminder_rules
from bot.services.reminders import settings as reminder_settings

HEADER = (
    "# jobbot configuration: organisation settings, reminder rules and job centres.\n"
    "# Apply it with 'jobbot config import FILE' (try --dry-run first; see --help).\n"
)
POLICY_NUMBERS = ("grace_minutes", "streak_limit", "window_limit", "window_days",
                  "alert_resend_minutes", "alert_delay_minutes")


def export_config(db: Session, now: datetime) -> str:
    """The configuration at ``now`` (sessions that have not started by then)."""
    document = {
        "version": VERSION,
        "settings": org_settings.all_values(db),
        "reminder_rules": _rules(db, None),
        "centres": [_centre(db, now, centre) for centre in
                    db.scalars(select(JobCentre).order_by(JobCentre.name))],
    }
    return HEADER + dump(document)


def _clock(value: time | None) -> Quoted | None:
    return Quoted(f"{value:%H:%M}") if value is not None else None


def _centre(db: Session, now: datetime, centre: JobCentre) -> dict[str, Any]:
    zone = ZoneInfo(centre.timezone)
    days = db.scalars(select(ClosedDay).where(ClosedDay.job_centre_id == centre.id)
                      .order_by(ClosedDay.day))
    settings = reminder_settings.for_centre(db, centre.id)
    return {
        "name": centre.name,
        "address": centre.address,
        "latitude": centre.latitude,
        "longitude": centre.longitude,
        "timezone": centre.timezone,
        "disabled": centre.disabled_at is not None,
        "closed_days": [{"date": day.day, "note": day.note} for day in days],
        "reminder_settings": {
            "quiet_start": _clock(settings.quiet.start),
            "quiet_end": _clock(settings.quiet.end),
            "quiet_weekends": settings.quiet.weekends,
            "deadline_days": "calendar" if settings.deadline_calendar_days else "working",
        },
        "attendance_policy": _policy(db, now, centre),
        "reminder_rules": _rules(db, centre.id),
        "info_sessions": _sessions(db, now, centre, zone),
    }


def _policy(db: Session, now: datetime, centre: JobCentre) -> dict[str, Any]:
    policy = db.scalar(select(AttendancePolicy).where(
        AttendancePolicy.job_centre_id == centre.id))
    if policy is not None:
        return _policy_values(policy)
    # No policy yet means the service's defaults: made the service's way, then undone,
    # so the export changes nothing.
    savepoint = db.begin_nested()
    try:
        return _policy_values(attendance_policy.policy_for(db, now, centre.id))
    finally:
        savepoint.rollback()


def _policy_values(policy: AttendancePolicy) -> dict[str, Any]:
    return {
        "weekdays": [WEEKDAYS[int(day) - 1] for day in sorted(attendance_policy.weekdays_of(
            policy))],
        "window_start": _clock(policy.window_start),
        "window_end": _clock(policy.window_end),
        **{name: getattr(policy, name) for name in POLICY_NUMBERS},
        "absence_reasons": [reason.value for reason in attendance_policy.reasons_of(policy)],
        "digest_time": _clock(policy.digest_time),
        "location_rule": policy.location_rule.value,
        "radius_m": policy.radius_m,
        "code_step_seconds": policy.code_step_seconds,
    }


def _rules(db: Session, centre_id: int | None) -> list[dict[str, Any]]:
    scope = (ReminderRule.job_centre_id.is_(None) if centre_id is None
             else ReminderRule.job_centre_id == centre_id)
    # One rule per natural key, as import reads them: the enabled one if there are two.
    chosen: dict[tuple[Any, ...], ReminderRule] = {}
    for rule in db.scalars(select(ReminderRule).where(scope)):
        key = timing_key(rule)
        if key not in chosen or (rule.enabled, rule.id) > (chosen[key].enabled, chosen[key].id):
            chosen[key] = rule
    kinds, audiences = list(EventKind), list(Audience)

    def order(rule: ReminderRule) -> tuple[Any, ...]:
        # Along the time line of each event, then by audience.
        return (kinds.index(rule.event_kind), rule.offset_days, rule.offset_minutes,
                rule.working_days, rule.at_local_time or time.min, rule.at_local_time is None,
                audiences.index(rule.audience))

    languages = list(LANGUAGES)
    rules = []
    for rule in sorted(chosen.values(), key=order):
        entry: dict[str, Any] = {
            "event": rule.event_kind.value,
            "audience": rule.audience.value,
            "offset": reminder_rules.format_offset(reminder_rules.RuleSpec(
                rule.event_kind, rule.audience, rule.offset_days, rule.offset_minutes,
                rule.working_days)),
        }
        if rule.at_local_time is not None:
            entry["at"] = _clock(rule.at_local_time)
        entry["enabled"] = rule.enabled
        texts = rule.texts or {}
        entry["texts"] = {code: texts[code] for code in sorted(texts, key=lambda code: (
            languages.index(code) if code in languages else len(languages), code))}
        rules.append(entry)
    return rules


def _sessions(db: Session, now: datetime, centre: JobCentre, zone: ZoneInfo
              ) -> list[dict[str, Any]]:
    sessions = db.scalars(select(InfoSession).where(
        InfoSession.job_centre_id == centre.id, InfoSession.cancelled_at.is_(None),
        InfoSession.starts_at > now).order_by(InfoSession.starts_at, InfoSession.id))
    entries: dict[str, dict[str, Any]] = {}
    for session in sessions:
        start = f"{session.starts_at.astimezone(zone):%Y-%m-%dT%H:%M}"
        if start in entries:
            continue  # two sessions at one time cannot be told apart in a file
        entry: dict[str, Any] = {
            "start": Quoted(start),
            "duration_minutes": int((session.ends_at - session.starts_at).total_seconds()
                                    // 60),
            "place": session.place,
            "language": session.language,
            "capacity": session.capacity,
        }
        if (session.latitude, session.longitude) != (centre.latitude, centre.longitude):
            entry["latitude"], entry["longitude"] = session.latitude, session.longitude
        entries[start] = entry
    return list(entries.values())
