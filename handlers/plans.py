"""/plan for coaches (their aspirants' plan milestones, marked done with a button) and,
for aspirants, "My plan" (read only) and "My schedule" (booked session, deadlines)."""

from __future__ import annotations

from datetime import date

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.i18n import N_, Translator
from bot.models import Enrolment, MilestoneKind, PlanMilestone, Role
from bot.presentation import callbacks as cb
from bot.presentation.reminder_buttons import session_answers
from bot.presentation.views import session_summary
from bot.services.people import people
from bot.services.plans import milestones
from bot.services.sessions import info_sessions
from handlers.base import Turn, on
from handlers.menu import menu_action_handler

PAGE = 8
EVERYONE = frozenset(Role)
STAFF = frozenset({Role.COACH, Role.TEAM_LEAD, Role.ADMIN})
ASPIRANT = frozenset({Role.ASPIRANT})
LABELS = {
    MilestoneKind.FIRST_PLAN: N_("First job plan"),
    MilestoneKind.DEEPENED_PLAN: N_("Deepened job plan"),
    MilestoneKind.REVIEW: N_("Plan review"),
}


def _button(text: str, data: cb.Callback) -> InlineKeyboardButton:
    return InlineKeyboardButton(text[:64], callback_data=data.encode())


def _today(turn: Turn, enrolment: Enrolment) -> date:
    return milestones.local_today(turn.now, enrolment)


def milestone_line(t: Translator, milestone: PlanMilestone, today: date) -> str:
    label = t._(LABELS[milestone.kind])
    if milestone.done_at is not None:
        return "✅ " + t._("{milestone}: done on {date}", milestone=label,
                          date=t.short_date(milestone.done_at))
    if milestone.due_on < today:
        return "⚠️ " + t._("{milestone}: was due on {date}", milestone=label,
                           date=t.short_date(milestone.due_on))
    return "⏳ " + t._("{milestone}: due on {date}", milestone=label,
                      date=t.short_date(milestone.due_on))


# --- /plan -------------------------------------------------------------------------------
@on(roles=EVERYONE)
def plan_command(turn: Turn) -> None:
    """Role-aware: staff see their aspirants, an aspirant sees their own plan."""
    if turn.has_role(*STAFF):
        _caseload(turn, 0)
    else:
        _my_plan(turn)


@menu_action_handler("plan")
@on(roles=ASPIRANT)
def my_plan(turn: Turn) -> None:
    _my_plan(turn)


def _my_plan(turn: Turn) -> None:
    assert turn.person is not None
    enrolment = people.active_enrolment(turn.db, turn.person)
    if enrolment is None:
        turn.say(turn._("You are not enrolled at a job centre."))
        return
    plan = milestones.plan_of(turn.db, enrolment.id)
    if not plan:
        turn.say(turn._(
            "Your job plan starts at the information session: your coach makes your first "
            "job plan with you within five working days after it."))
        return
    today = _today(turn, enrolment)
    lines = [turn._("Your job plan:"), ""]
    lines += [milestone_line(turn.t, m, today) for m in plan]
    lines += ["", turn._("Your coach marks each step as done with you.")]
    turn.say("\n".join(lines))


# --- coaches -------------------------------------------------------------------------------
@on(roles=STAFF)
def caseload_page(turn: Turn) -> None:
    pressed = turn.pressed(cb.PlanPage)
    _caseload(turn, pressed.page if pressed else 0)


def _caseload(turn: Turn, page: int) -> None:
    assert turn.person is not None
    rows = milestones.caseload(turn.db, turn.person)
    if not rows:
        turn.edit_or_say(turn._("You have no aspirants to follow yet."))
        return
    pages = (len(rows) + PAGE - 1) // PAGE
    page = max(0, min(page, pages - 1))
    buttons = []
    for enrolment, milestone in rows[page * PAGE:(page + 1) * PAGE]:
        name = enrolment.aspirant.display_name or "?"
        if milestone is None:
            label = f"➖ {name} · {turn._('no plan yet')}"
        else:
            mark = "⚠️" if milestone.due_on < _today(turn, enrolment) else "⏳"
            label = (f"{mark} {name} · {turn._(LABELS[milestone.kind])} "
                     f"{turn.t.short_date(milestone.due_on)}")
        buttons.append([_button(label, cb.AspirantPlan(enrolment.id))])
    nav = []
    if page > 0:
        nav.append(_button("◀", cb.PlanPage(page - 1)))
    if page < pages - 1:
        nav.append(_button("▶", cb.PlanPage(page + 1)))
    if nav:
        buttons.append(nav)
    text = turn._("Plan milestones, most urgent first (page {page} of {pages}):",
                  page=page + 1, pages=pages)
    turn.edit_or_say(text, reply_markup=InlineKeyboardMarkup(buttons))


@on(roles=STAFF)
def aspirant_plan(turn: Turn) -> None:
    assert turn.person is not None
    pressed = turn.pressed(cb.AspirantPlan)
    if pressed is None:
        turn.stale()
        return
    enrolment = milestones.managed_enrolment(turn.db, turn.person, pressed.enrolment)
    _aspirant_plan(turn, enrolment)


def _aspirant_plan(turn: Turn, enrolment: Enrolment, note: str | None = None) -> None:
    t = turn.t
    plan = milestones.plan_of(turn.db, enrolment.id)
    today = _today(turn, enrolment)
    lines = [note, ""] if note else []
    lines.append(t._("Plan of {name}:", name=enrolment.aspirant.display_name or "?"))
    lines += [milestone_line(t, m, today) for m in plan] or [t._("No plan milestones yet.")]
    buttons = [[_button("✓ " + t._("Mark done: {milestone}", milestone=t._(LABELS[m.kind])),
                        cb.MarkMilestoneDone(m.id))] for m in plan if m.done_at is None]
    if not plan:
        due = milestones.first_plan_due(turn.db, enrolment.job_centre_id, today)
        buttons.append([_button(t._("Start the plan (first plan due {date})",
                                    date=t.short_date(due)), cb.StartPlan(enrolment.id))])
    buttons.append([_button("⬅ " + t._("Back"), cb.PlanPage(0))])
    turn.edit_or_say("\n".join(lines), reply_markup=InlineKeyboardMarkup(buttons))


@on(roles=STAFF)
def mark_done(turn: Turn) -> None:
    pressed = turn.pressed(cb.MarkMilestoneDone)
    if pressed is None:
        turn.stale()
        return
    done = milestones.mark_done(turn.db, turn.now, pressed.milestone, actor=turn.person)
    enrolment = people.enrolment(turn.db, done.milestone.enrolment_id)
    assert enrolment is not None
    t = turn.t
    note = t._("Done: {milestone}. Next: {next}, due on {date}.",
               milestone=t._(LABELS[done.milestone.kind]), next=t._(LABELS[done.next.kind]),
               date=t.short_date(done.next.due_on))
    turn.toast(t._("Saved."))
    _aspirant_plan(turn, enrolment, note=note)


@on(roles=STAFF)
def start_plan(turn: Turn) -> None:
    pressed = turn.pressed(cb.StartPlan)
    if pressed is None:
        turn.stale()
        return
    milestone = milestones.start_plan(turn.db, turn.now, pressed.enrolment, actor=turn.person)
    enrolment = people.enrolment(turn.db, milestone.enrolment_id)
    assert enrolment is not None
    _aspirant_plan(turn, enrolment, note=turn._("The plan has started."))


# --- the aspirant's schedule ------------------------------------------------------------------
@menu_action_handler("schedule")
@on(roles=ASPIRANT)
def my_schedule(turn: Turn) -> None:
    assert turn.person is not None
    t = turn.t
    enrolment = people.active_enrolment(turn.db, turn.person)
    if enrolment is None:
        turn.say(t._("You are not enrolled at a job centre."))
        return
    lines = [t._("Your schedule:"), ""]
    markup = None
    booking = info_sessions.current_booking(turn.db, turn.now, turn.person)
    if booking is not None:
        lines += [t._("Information session:"), session_summary(t, booking.info_session)]
        markup = InlineKeyboardMarkup(session_answers(t, booking.id))
    elif not _attended(turn, enrolment):
        lines.append(t._("You have no information session booked."))
        markup = InlineKeyboardMarkup([[_button("📅 " + t._("Book an information session"),
                                                cb.OtherSessionTimes())]])
    today = _today(turn, enrolment)
    open_steps = [m for m in milestones.plan_of(turn.db, enrolment.id) if m.done_at is None]
    if open_steps:
        lines += ["", t._("Deadlines:")] + [milestone_line(t, m, today) for m in open_steps]
    elif booking is None and markup is None:
        lines.append(t._("Nothing is planned for you right now."))
    turn.say("\n".join(lines), reply_markup=markup)


def _attended(turn: Turn, enrolment: Enrolment) -> bool:
    return info_sessions.has_attended(turn.db, enrolment.aspirant_id)


def register(application: Application) -> None:
    application.add_handler(CommandHandler("plan", plan_command))
    application.add_handler(CommandHandler("schedule", my_schedule))
    application.add_handler(CallbackQueryHandler(caseload_page, pattern=cb.PlanPage.matches))
    application.add_handler(CallbackQueryHandler(aspirant_plan, pattern=cb.AspirantPlan.matches))
    application.add_handler(CallbackQueryHandler(mark_done, pattern=cb.MarkMilestoneDone.matches))
    application.add_handler(CallbackQueryHandler(start_plan, pattern=cb.StartPlan.matches))
