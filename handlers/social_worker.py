"""/statements: a social worker's aspirants — their plan status and attendance statements.

A social worker sees only the aspirants their coaches linked to them, and for those only
the attendance statement (as text and as a spreadsheet) and where the job plan stands;
every press is checked against the link again.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.i18n import N_
from bot.models import Role
from bot.presentation import attendance_views, plan_views
from bot.presentation import callbacks as cb
from bot.services.people import social_workers
from bot.services.plans import milestones
from handlers.base import Turn, on
from handlers.caseload import send_statement

SOCIAL_WORKER = frozenset({Role.SOCIAL_WORKER})
MAX_LISTED = 60
PERIODS = (("pw", N_("Last week")), ("30", N_("Last 30 days")), ("m", N_("This month")),
           ("pm", N_("Last month")))


def _list(turn: Turn) -> None:
    assert turn.person is not None
    linked = social_workers.linked(turn.db, turn.person)
    if not linked:
        turn.edit_or_say(turn._("No aspirant is linked to you yet. Their coach links you "
                                "from the caseload; you then get their attendance statement "
                                "every Monday."))
        return
    rows = [[InlineKeyboardButton(
        f"{person.display_name or '?'} · {enrolment.job_centre.name}"[:60]
        + (" · " + turn._("left") if enrolment.left_at is not None else ""),
        callback_data=cb.LinkedAspirant(enrolment.id).encode())]
        for enrolment, person in linked[:MAX_LISTED]]
    text = turn._("Aspirants linked to you ({count}). Choose one for their plan and "
                  "attendance statement:", count=len(linked))
    turn.edit_or_say(text, reply_markup=InlineKeyboardMarkup(rows))


@on(roles=SOCIAL_WORKER)
def statements_command(turn: Turn) -> None:
    _list(turn)


def _aspirant(turn: Turn, enrolment_id: int) -> None:
    assert turn.person is not None
    enrolment = social_workers.visible_enrolment(turn.db, turn.person, enrolment_id)
    t = turn.t
    today = milestones.local_today(turn.now, enrolment)
    lines = [f"{attendance_views.name(enrolment.aspirant.display_name or '?')} — "
             f"{enrolment.job_centre.name}"]
    if enrolment.intake_on is not None:
        lines.append(t._("Intake: {date}", date=t.short_date(enrolment.intake_on)))
    else:
        lines.append(t._("No intake recorded yet."))
    if enrolment.left_at is not None:
        lines.append(t._("Left: {date}", date=t.date(enrolment.left_at)))
    plan = milestones.plan_of(turn.db, enrolment.id)
    lines += ["", t._("Job plan:")]
    lines += [f"• {plan_views.milestone_line(t, m, today)}" for m in plan] or [
        t._("No plan milestones yet.")]
    lines += ["", t._("Attendance statement for which period?")]
    rows = [[InlineKeyboardButton(t._(label), callback_data=cb.LinkedStatement(
        enrolment.id, code).encode()) for code, label in PERIODS[:2]],  # type: ignore[arg-type]
            [InlineKeyboardButton(t._(label), callback_data=cb.LinkedStatement(
                enrolment.id, code).encode()) for code, label in PERIODS[2:]],  # type: ignore[arg-type]
            [InlineKeyboardButton("‹ " + t._("All my aspirants"),
                                  callback_data=cb.LinkedAspirants().encode())]]
    turn.edit_or_say("\n".join(lines), reply_markup=InlineKeyboardMarkup(rows))


BUTTONS = (cb.LinkedAspirants, cb.LinkedAspirant, cb.LinkedStatement)


@on(roles=SOCIAL_WORKER)
def statements_button(turn: Turn) -> None:
    match turn.pressed(*BUTTONS):
        case cb.LinkedAspirants():
            _list(turn)
        case cb.LinkedAspirant(enrolment):
            _aspirant(turn, enrolment)
        case cb.LinkedStatement(enrolment, period):
            assert turn.person is not None
            send_statement(turn, social_workers.visible_enrolment(turn.db, turn.person,
                                                                  enrolment), period)
        case _:
            turn.stale()


def register(application: Application) -> None:
    application.add_handler(CommandHandler("statements", statements_command))
    application.add_handler(CallbackQueryHandler(statements_button, pattern=cb.any_of(*BUTTONS)))
