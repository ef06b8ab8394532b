"""The coach's side of attendance: /caseload, one aspirant's detail, acting on alerts,
marking attendance by hand, notes, the requirement, and attendance statements."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.calendar import local_date
from bot.errors import DomainError
from bot.i18n import N_
from bot.models import AttendanceStatus, ConversationState, Enrolment, Judgement, Role
from bot.presentation import attendance_views as views
from bot.presentation import callbacks as cb
from bot.services.attendance import caseload, coach_alerts, follow_up
from bot.services.attendance import policy as attendance_policy
from bot.services.attendance import statement as attendance_statement
from bot.services.people import demographics, social_workers
from bot.services.system import conversations
from handlers import menu
from handlers.base import Turn, on
from handlers.text_input import ask_again, close_step, too_long

STAFF = frozenset({Role.COACH, Role.TEAM_LEAD, Role.ADMIN})
PAGE_SIZE = 8
NOTE_FLOW = "attnote"
MARKS = {"p": AttendanceStatus.PRESENT, "e": AttendanceStatus.EXCUSED,
         "u": AttendanceStatus.UNEXCUSED}
SAVED = {AttendanceStatus.PRESENT: N_("Marked present."),
         AttendanceStatus.EXCUSED: N_("Recorded: valid absence."),
         AttendanceStatus.UNEXCUSED: N_("Recorded: absence not valid.")}
VERDICTS = {"v": Judgement.VALID, "x": Judgement.NOT_VALID}
VERDICT_STATUS = {"v": AttendanceStatus.EXCUSED, "x": AttendanceStatus.UNEXCUSED}
PERIODS = (("30", N_("Last 30 days")), ("m", N_("This month")), ("pm", N_("Last month")))


def _edit(turn: Turn, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Replace the pressed message (a press that changes nothing is not an error)."""
    turn.edit_or_say(text, reply_markup=markup)


def _back(turn: Turn, enrolment_id: int) -> InlineKeyboardButton:
    return InlineKeyboardButton("‹ " + turn._("Back"),
                                callback_data=cb.CaseloadDetail(enrolment_id).encode())


# --- the list -------------------------------------------------------------------------------
def _show_page(turn: Turn, number: int, *, edit: bool) -> None:
    assert turn.person is not None
    found = caseload.entries(turn.db, turn.now, turn.person)
    shown, number, pages = caseload.page(found, number, PAGE_SIZE)
    text, markup = views.caseload_page(turn.t, shown, number, pages, number * PAGE_SIZE,
                                       len(found))
    if edit:
        _edit(turn, text, markup)
    else:
        turn.say(text, reply_markup=markup)


@on(roles=STAFF)
def caseload_command(turn: Turn) -> None:
    _show_page(turn, 0, edit=False)


def _show_detail(turn: Turn, enrolment_id: int) -> None:
    assert turn.person is not None
    detail = caseload.detail(turn.db, turn.now, turn.person, enrolment_id)
    _edit(turn, views.detail_text(turn.t, detail),
                views.detail_keyboard(turn.t, detail,
                                      demographics=demographics.enabled(turn.db)))


CASELOAD_BUTTONS = (cb.CaseloadPage, cb.CaseloadDetail, cb.MarkAttendance,
                    cb.ChooseAttendanceDay, cb.ChooseAttendanceStatus, cb.WriteNote,
                    cb.ChooseStatementPeriod, cb.SendStatement, cb.SetRequirement,
                    cb.ChooseSocialWorker, cb.LinkSocialWorker)


@on(roles=STAFF)
def caseload_button(turn: Turn) -> None:
    assert turn.person is not None
    match turn.pressed(*CASELOAD_BUTTONS):
        case cb.CaseloadPage(page):
            _show_page(turn, page, edit=True)
        case cb.CaseloadDetail(enrolment):
            _show_detail(turn, enrolment)
        case cb.MarkAttendance(enrolment, day, code):
            status = MARKS[code]
            follow_up.mark(turn.db, turn.now, turn.person, enrolment, day, status)
            turn.toast(turn._(SAVED[status]))
            _show_detail(turn, enrolment)
        case cb.ChooseAttendanceDay(enrolment):
            _choose_day(turn, enrolment)
        case cb.ChooseAttendanceStatus(enrolment, day):
            _choose_status(turn, enrolment, day)
        case cb.WriteNote(enrolment):
            _start_note(turn, enrolment, None)
        case cb.ChooseStatementPeriod(enrolment):
            _choose_period(turn, enrolment)
        case cb.SendStatement(enrolment, period):
            assert turn.person is not None
            send_statement(turn, follow_up.enrolment_for(turn.db, turn.person, enrolment),
                           period)
        case cb.SetRequirement(enrolment, required):
            follow_up.set_requirement(turn.db, turn.now, turn.person, enrolment, required)
            turn.toast(turn._("Daily check-in switched on.") if required
                       else turn._("Daily check-in switched off."))
            _show_detail(turn, enrolment)
        case cb.ChooseSocialWorker(enrolment):
            _choose_social_worker(turn, enrolment)
        case cb.LinkSocialWorker(enrolment, worker):
            if worker:
                social_workers.link(turn.db, turn.now, turn.person, enrolment, worker)
                turn.toast(turn._("Linked. The social worker gets the weekly statement."))
            else:
                social_workers.unlink(turn.db, turn.now, turn.person, enrolment)
                turn.toast(turn._("The social worker no longer gets the statements."))
            _show_detail(turn, enrolment)
        case _:
            turn.stale()


def _choose_social_worker(turn: Turn, enrolment_id: int) -> None:
    assert turn.person is not None
    enrolment = follow_up.enrolment_for(turn.db, turn.person, enrolment_id)
    workers = social_workers.available(turn.db, enrolment.job_centre_id)
    rows = [[InlineKeyboardButton(("✓ " if w.id == enrolment.social_worker_id else "")
                                  + (w.display_name or "?")[:40],
                                  callback_data=cb.LinkSocialWorker(enrolment_id, w.id).encode())]
            for w in workers[:20]]
    if enrolment.social_worker_id is not None:
        rows.append([InlineKeyboardButton(turn._("No social worker"),
                                          callback_data=cb.LinkSocialWorker(enrolment_id,
                                                                            0).encode())])
    rows.append([_back(turn, enrolment_id)])
    if not workers:
        text = turn._("No social worker has joined for this job centre yet. An administrator "
                      "can invite them with /invite.")
    else:
        text = turn._("Which social worker should get the attendance statements and plan "
                      "status of {name}? They see nothing else.",
                      name=enrolment.aspirant.display_name or "?")
    _edit(turn, text, InlineKeyboardMarkup(rows))


def _choose_day(turn: Turn, enrolment_id: int) -> None:
    assert turn.person is not None
    days = caseload.markable_days(turn.db, turn.now, turn.person, enrolment_id)
    buttons = [InlineKeyboardButton(turn.t.short_date(day),
                                    callback_data=cb.ChooseAttendanceStatus(enrolment_id,
                                                                            day).encode())
               for day in days]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    rows.append([_back(turn, enrolment_id)])
    _edit(turn, turn._("Which day do you want to record?"), InlineKeyboardMarkup(rows))


def _choose_status(turn: Turn, enrolment_id: int, day: date) -> None:
    assert turn.person is not None
    follow_up.enrolment_for(turn.db, turn.person, enrolment_id)
    rows = [views.mark_buttons(turn.t, enrolment_id, day),
            [InlineKeyboardButton("‹ " + turn._("Back"),
                                  callback_data=cb.ChooseAttendanceDay(enrolment_id).encode())]]
    _edit(turn, turn._("Attendance on {date}:", date=day), InlineKeyboardMarkup(rows))


def _choose_period(turn: Turn, enrolment_id: int) -> None:
    assert turn.person is not None
    follow_up.enrolment_for(turn.db, turn.person, enrolment_id)
    rows = [[InlineKeyboardButton(turn._(label),
                                  callback_data=cb.SendStatement(enrolment_id, code).encode())]
            for code, label in PERIODS]
    rows.append([_back(turn, enrolment_id)])
    _edit(turn, turn._("Attendance statement for which period?"), InlineKeyboardMarkup(rows))


def send_statement(turn: Turn, enrolment: Enrolment, period: str) -> None:
    """The attendance statement of ``period`` (in the centre's days) as a message and a
    CSV file; the statement service checks again that this person may see it."""
    assert turn.person is not None
    today = local_date(turn.now, attendance_policy.zone_of(enrolment.job_centre))
    first, last = attendance_statement.period(today, period)
    statement = attendance_statement.statement(turn.db, turn.now, turn.person, enrolment.id,
                                               first, last)
    turn.toast()
    turn.say(views.statement_text(turn.t, statement))
    filename = f"attendance-{enrolment.id}-{first:%Y%m%d}-{last:%Y%m%d}.csv"
    turn.send_document(views.statement_csv(turn.t, statement), filename,
                       caption=turn._("Attendance statement as a spreadsheet (CSV)."))


# --- notes ----------------------------------------------------------------------------------
def _start_note(turn: Turn, enrolment_id: int, alert: tuple[int, int] | None,
                      day: date | None = None) -> None:
    """Ask for the note's text; ``alert`` is (alert id, message id) to redraw afterwards."""
    assert turn.person is not None
    enrolment = follow_up.enrolment_for(turn.db, turn.person, enrolment_id)
    day = day or local_date(turn.now, attendance_policy.zone_of(enrolment.job_centre))
    data = {"enrolment": enrolment_id, "day": day.isoformat()}
    if alert is not None:
        data.update(alert=alert[0], message=alert[1])
    conversations.begin(turn.db, turn.now, turn.user_id, turn.chat_id, NOTE_FLOW, "text", data)
    turn.toast()
    turn.say(turn._("Write your note about {name} (one message):",
                          name=enrolment.aspirant.display_name or "?"))


@menu.text_step_handler(NOTE_FLOW)
def note_text(turn: Turn, state: ConversationState) -> None:
    if turn.person is None or not turn.has_role(*STAFF):
        conversations.finish(turn.db, state)
        return
    # A note refused for its length or emptiness can be sent again (the step says so);
    # one that can never be saved (the aspirant left the caseload) ends the step.
    if too_long(turn, turn.text, follow_up.NOTE_LIMIT):
        return
    if not turn.text:
        ask_again(turn, turn._("The note is empty. Please write a few words."))
        return
    try:
        with turn.db.begin_nested():
            follow_up.add_note(turn.db, turn.now, turn.person, int(state.data["enrolment"]),
                               date.fromisoformat(state.data["day"]), turn.text)
    except DomainError as problem:
        close_step(turn, state, problem)
        return
    conversations.finish(turn.db, state)
    turn.say(turn._("Note saved."))
    if state.data.get("alert"):
        alert = follow_up.alert_for(turn.db, turn.person, int(state.data["alert"]))
        view = coach_alerts.view(turn.db, alert)
        # If the alert message is gone or unchanged, the note is saved all the same.
        turn.edit(int(state.data["message"]), views.alert_text(turn.t, view),
                  reply_markup=views.alert_keyboard(turn.t, view, acknowledged=True))


# --- the alert's buttons --------------------------------------------------------------------
ALERT_BUTTONS = (cb.AlertAction, cb.AlertSeen, cb.ExcuseExplained, cb.JudgeRecord,
                 cb.JudgeReport)
ALERT_STATUS = {"v": AttendanceStatus.EXCUSED, "e": AttendanceStatus.EXCUSED,
                "x": AttendanceStatus.UNEXCUSED, "p": AttendanceStatus.PRESENT}


@on(roles=STAFF)
def alert_button(turn: Turn) -> None:
    """An action on one aspirant of an alert, "seen" on the alert, or the coach's judgement
    of an absence the aspirant explained or reported."""
    assert turn.query is not None and turn.person is not None
    pressed = turn.pressed(*ALERT_BUTTONS)
    match pressed:
        case cb.ExcuseExplained(record):
            _judge_record(turn, record, "v")
            return
        case cb.JudgeRecord(record, verdict):
            _judge_record(turn, record, verdict)
            return
        case cb.JudgeReport(report, verdict):
            _judge_report(turn, report, verdict)
            return
        case cb.AlertSeen(alert_id):
            alert = follow_up.alert_for(turn.db, turn.person, alert_id)
            follow_up.acknowledge(turn.db, turn.now, alert)
            turn.toast(turn._("Thank you."))
            _redraw_alert(turn, alert)
            return
        case cb.AlertAction():
            pass
        case _:
            turn.stale()
            return
    action = pressed.action
    _, alert, enrolment = follow_up.alert_item(turn.db, turn.person, pressed.item)
    if action == "n":
        follow_up.acknowledge(turn.db, turn.now, alert)
        message_id = turn.query.message.message_id if turn.query.message else 0
        _start_note(turn, enrolment.id, (alert.id, message_id), alert.day)
        return
    if action == "c":
        follow_up.contacted(turn.db, turn.now, turn.person, enrolment.id, alert.day)
        turn.toast(turn._("Recorded: contacted."))
    else:
        status = ALERT_STATUS[action]
        follow_up.mark(turn.db, turn.now, turn.person, enrolment.id, alert.day, status)
        turn.toast(turn._(SAVED[status]))
    _redraw_alert(turn, alert)


def _redraw_alert(turn: Turn, alert) -> None:  # type: ignore[no-untyped-def]
    view = coach_alerts.view(turn.db, alert)
    _edit(turn, views.alert_text(turn.t, view),
                views.alert_keyboard(turn.t, view, acknowledged=alert.acknowledged_at is not None))


def _original(turn: Turn) -> str:
    """The pressed notice's text, without an earlier judgement line."""
    text = turn.query.message.text if turn.query is not None and turn.query.message else ""
    return (text or "").split("\n\n✓ ")[0]


def _judge_record(turn: Turn, record_id: int, verdict: str) -> None:
    assert turn.person is not None
    follow_up.judge_record(turn.db, turn.now, turn.person, record_id, VERDICTS[verdict])
    _show_judgement(turn, verdict, lambda v: cb.JudgeRecord(record_id, v))  # type: ignore[arg-type]


def _judge_report(turn: Turn, report_id: int, verdict: str) -> None:
    assert turn.person is not None
    follow_up.judge_report(turn.db, turn.now, turn.person, report_id, VERDICTS[verdict])
    _show_judgement(turn, verdict, lambda v: cb.JudgeReport(report_id, v))  # type: ignore[arg-type]


def _show_judgement(turn: Turn, verdict: str, button: Callable[[str], cb.Callback]) -> None:
    """The notice as judged: who judged it, and the buttons to judge it otherwise."""
    assert turn.person is not None
    turn.toast(turn._(SAVED[VERDICT_STATUS[verdict]]))
    line = views.judged_line(turn.t, verdict, turn.person.display_name or "?")
    buttons = views.judge_buttons(turn.t, button, judged=verdict)
    _edit(turn, f"{_original(turn)}\n\n{line}", InlineKeyboardMarkup([buttons]))


def register(application: Application) -> None:
    application.add_handler(CommandHandler("caseload", caseload_command))
    application.add_handler(CallbackQueryHandler(caseload_button,
                                                 pattern=cb.any_of(*CASELOAD_BUTTONS)))
    application.add_handler(CallbackQueryHandler(alert_button, pattern=cb.any_of(*ALERT_BUTTONS)))
