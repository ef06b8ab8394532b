"""/plan for coaches (their aspirants' plan milestones, marked finished with a button, a
measure recorded, and the follow-ups six months after leaving) and, for aspirants, "My
plan" (their plan, and confirming a plan their coach marked finished) and "My schedule"
(booked session, deadlines)."""

from __future__ import annotations

from datetime import date

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.calendar import local_date
from bot.i18n import Translator
from bot.models import Enrolment, MilestoneKind, PlanMilestone, Role
from bot.presentation import callbacks as cb
from bot.presentation import plan_views
from bot.presentation.reminder_buttons import session_answers
from bot.presentation.views import session_summary
from bot.services.people import people
from bot.services.plans import follow_ups, milestones
from bot.services.sessions import info_sessions
from handlers.base import Turn, on
from handlers.menu import menu_action_handler

PAGE = 8
STAFF = frozenset({Role.COACH, Role.TEAM_LEAD, Role.ADMIN})
ASPIRANT = frozenset({Role.ASPIRANT})
# Social workers see plans through /statements only.
PLAN_USERS = STAFF | ASPIRANT
LABELS = plan_views.LABELS


def _button(text: str, data: cb.Callback) -> InlineKeyboardButton:
    return InlineKeyboardButton(text[:64], callback_data=data.encode())


def _today(turn: Turn, enrolment: Enrolment) -> date:
    return milestones.local_today(turn.now, enrolment)


def milestone_line(t: Translator, milestone: PlanMilestone, today: date, *,
                   for_aspirant: bool = False) -> str:
    return plan_views.milestone_line(t, milestone, today, for_aspirant=for_aspirant)


# --- /plan -------------------------------------------------------------------------------
@on(roles=PLAN_USERS)
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
            "Your job plan starts at the group information session: your coach makes your "
            "first job plan with you within five working days after it."))
        return
    today = _today(turn, enrolment)
    lines = [turn._("Your job plan:"), ""]
    lines += [milestone_line(turn.t, m, today, for_aspirant=True) for m in plan]
    lines += ["", turn._("A plan is finished when your coach and you have both signed it: "
                         "your coach marks it, and you confirm it here.")]
    turn.say("\n".join(lines))
    for milestone in milestones.awaiting_aspirant(turn.db, enrolment.id):
        turn.say(turn._("Have you read your {milestone}, and do you agree with it?",
                        milestone=turn._(milestones.KIND_NAMES[milestone.kind])),
                 reply_markup=InlineKeyboardMarkup(plan_views.confirm_buttons(turn.t,
                                                                            milestone.id)))


@on(roles=ASPIRANT)
def confirm_plan(turn: Turn) -> None:
    """The aspirant's signature, or "I have questions" (the coach is told)."""
    assert turn.person is not None
    pressed = turn.pressed(cb.ConfirmPlan)
    if pressed is None:
        turn.stale()
        return
    agree = pressed.answer == "y"
    milestones.confirm(turn.db, turn.now, turn.person, pressed.milestone, agree=agree)
    turn.toast()
    if agree:
        turn.edit_or_say("✅ " + turn._("Thank you! Your plan is confirmed, and your coach has "
                                       "been told."))
    else:
        turn.edit_or_say(turn._("Your coach has been told that you have questions, and will "
                                "contact you. When you agree with the plan, confirm it under "
                                "“My plan”."))


# --- coaches -------------------------------------------------------------------------------
@on(roles=STAFF)
def caseload_page(turn: Turn) -> None:
    pressed = turn.pressed(cb.PlanPage)
    _caseload(turn, pressed.page if pressed else 0)


def _caseload(turn: Turn, page: int) -> None:
    assert turn.person is not None
    rows = milestones.caseload(turn.db, turn.person)
    due_follow_ups = follow_ups.due_for(turn.db, turn.person, local_date(turn.now, turn.t.zone))
    if not rows and not due_follow_ups:
        turn.edit_or_say(turn._("You have no aspirants to follow yet."))
        return
    pages = max(1, (len(rows) + PAGE - 1) // PAGE)
    page = max(0, min(page, pages - 1))
    buttons = []
    for enrolment, milestone in rows[page * PAGE:(page + 1) * PAGE]:
        name = enrolment.aspirant.display_name or "?"
        waiting = milestones.awaiting_aspirant(turn.db, enrolment.id)
        if milestone is None and waiting:
            label = f"✍️ {name} · {turn._('waiting for the aspirant to confirm')}"
        elif milestone is None:
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
    if page == 0:
        for follow_up, enrolment in due_follow_ups[:10]:
            name = enrolment.aspirant.display_name or "?"
            buttons.append([_button(f"🔎 {name} · " + turn._("follow-up after leaving"),
                                    cb.FollowUpView(follow_up.id))])
    text = turn._("Plan milestones, most urgent first (page {page} of {pages}):",
                  page=page + 1, pages=pages)
    if due_follow_ups:
        text += "\n" + turn.t.ngettext(
            "{count} follow-up six months after leaving is due (🔎).",
            "{count} follow-ups six months after leaving are due (🔎).", len(due_follow_ups))
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
    if enrolment.intake_on is not None:
        lines.append(t._("Intake: {date}", date=t.short_date(enrolment.intake_on)))
    lines += [milestone_line(t, m, today) for m in plan] or [t._("No plan milestones yet.")]
    buttons = [[_button("✓ " + t._("Mark finished: {milestone}", milestone=t._(LABELS[m.kind])),
                        cb.MarkMilestoneDone(m.id))] for m in plan if m.done_at is None]
    buttons += [[_button("🚀 " + t._("A job, studies or a measure started"),
                         cb.RecordMeasure(m.id))]
                for m in plan if m.kind == MilestoneKind.FIRST_PLAN and m.measure_on is None
                and milestones.completed_at(m) is None]
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
    note = t._("Marked finished: {milestone}. {name} is asked to confirm it in chat; it counts "
               "as done once they have.", milestone=t._(LABELS[done.milestone.kind]),
               name=enrolment.aspirant.display_name or "?")
    turn.toast(t._("Saved."))
    _aspirant_plan(turn, enrolment, note=note)


@on(roles=STAFF)
def record_measure(turn: Turn) -> None:
    pressed = turn.pressed(cb.RecordMeasure)
    if pressed is None:
        turn.stale()
        return
    milestone = milestones.record_measure(turn.db, turn.now, pressed.milestone,
                                          actor=turn.person)
    enrolment = people.enrolment(turn.db, milestone.enrolment_id)
    assert enrolment is not None
    turn.toast(turn._("Saved."))
    _aspirant_plan(turn, enrolment, note=turn._(
        "Recorded: a job, studies or another measure started today. The first plan is still "
        "to be made."))


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


# --- the follow-up six months after leaving -----------------------------------------------
@on(roles=STAFF)
def follow_up_button(turn: Turn) -> None:
    assert turn.person is not None
    pressed = turn.pressed(cb.FollowUpView, cb.FollowUpAnswer)
    t = turn.t
    match pressed:
        case cb.FollowUpView(follow_up_id):
            follow_up, enrolment = follow_ups.get_for(turn.db, turn.person, follow_up_id)
            text = t._("Follow-up of {name}, who left on {date}: do they support themselves "
                       "six months later?", name=enrolment.aspirant.display_name or "?",
                       date=t.short_date(enrolment.left_at))  # type: ignore[arg-type]
            if follow_up.outcome is not None:
                text += "\n" + t._("Recorded: {outcome}.",
                                   outcome=plan_views.outcome_label(t, follow_up.outcome))
            rows = plan_views.follow_up_buttons(t, follow_up.id)
            rows.append([_button("⬅ " + t._("Back"), cb.PlanPage(0))])
            turn.edit_or_say(text, reply_markup=InlineKeyboardMarkup(rows))
        case cb.FollowUpAnswer(follow_up_id, code):
            outcome = plan_views.OUTCOME_CODES[code]
            follow_up, enrolment = follow_ups.get_for(turn.db, turn.person, follow_up_id)
            today = milestones.local_today(turn.now, enrolment)
            follow_ups.record(turn.db, turn.now, turn.person, follow_up_id, outcome, today=today)
            turn.toast(t._("Saved."))
            turn.edit_or_say(t._("Follow-up of {name}: {outcome}. Thank you.",
                                 name=enrolment.aspirant.display_name or "?",
                                 outcome=plan_views.outcome_label(t, outcome)))
        case _:
            turn.stale()


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
        lines += ["", t._("Deadlines:")] + [milestone_line(t, m, today, for_aspirant=True)
                                            for m in open_steps]
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
    application.add_handler(CallbackQueryHandler(record_measure,
                                                 pattern=cb.RecordMeasure.matches))
    application.add_handler(CallbackQueryHandler(confirm_plan, pattern=cb.ConfirmPlan.matches))
    application.add_handler(CallbackQueryHandler(follow_up_button, pattern=cb.any_of(
        cb.FollowUpView, cb.FollowUpAnswer)))
