"""/start: invite link → language → consent → information session → menu."""

from __future__ import annotations

from datetime import timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.errors import DomainError
from bot.i18n import LANGUAGES, N_, Term, supported_language
from bot.models import ConversationState, Role
from bot.presentation import callbacks as cb
from bot.presentation.keyboards import language_picker, one_column
from bot.presentation.views import ROLE_NOUNS, session_button, session_summary
from bot.services.people import invites, onboarding
from bot.services.sessions import info_sessions
from bot.services.system import conversations, throttle
from handlers.base import Turn, on
from handlers.menu import show_home, where_hint

CONSENT_TEXT = N_(
    "Before we start, please read this.\n\n"
    "What we store: your first name as shown in Telegram, your Telegram id, your "
    "language, your bookings, your check-ins and absence reports, and the dates of "
    "your job plans.\n"
    "Why: to remind you of meetings and deadlines, and so that your coach can follow "
    "up your plan and attendance.\n"
    "Who sees it: your coach and the job centre's staff. Attendance and plan dates may "
    "be passed on to social services, who use them to assess your right to assistance.\n"
    "How to delete it: send /stop at any time. /mydata shows everything we store."
)
BAD_CODE_LIMIT = 5
BAD_CODE_WINDOW = timedelta(minutes=15)


@on()
def start(turn: Turn) -> None:
    code = turn.args[0] if turn.args else ""
    if not code:
        if turn.person is not None:
            show_home(turn)
        else:
            turn.say(turn._(
                "Welcome! This bot helps you keep track of your meetings and plans at the "
                "job centre.\n\nTo get started, open the invite link or scan the QR code you "
                "got from your coach. If you have none, please ask your coach."
            ))
        return
    throttle_key = onboarding.throttle_key(turn.user_id)
    if throttle.too_many(turn.db, turn.now, throttle_key, limit=BAD_CODE_LIMIT,
                         window=BAD_CODE_WINDOW):
        turn.say(turn._(
            "Too many invalid links in a short time. Please wait 15 minutes and try again, "
            "or ask your coach for help."
        ))
        return
    try:
        opening = onboarding.open_invite(turn.db, turn.now, code, turn.person, turn.user_id)
    except invites.InviteRefused as refusal:
        # The attempt must be counted even though nothing else is stored.
        throttle.count_attempt(turn.db, turn.now, throttle_key, window=BAD_CODE_WINDOW)
        if refusal.reason == "held":
            onboarding.refused_elsewhere(turn.db, turn.now, code)
        turn.db.commit()
        turn.say(turn._(refusal.message))
        return
    if opening.outcome == "again":
        turn.say(turn._("You are already registered. Welcome back!"))
        show_home(turn)
        return
    if opening.outcome == "refused":
        turn.say(turn._(onboarding.ASPIRANT_REFUSED))
        return
    if opening.outcome == "ask":
        _ask_staff(turn, opening.invite)
        return
    if opening.outcome == "staff":
        _accept_staff(turn, opening.invite)
        return
    language = supported_language(turn.update.effective_user.language_code)  # type: ignore[union-attr]
    conversations.begin(
        turn.db, turn.now, turn.user_id, turn.chat_id, onboarding.FLOW, "language",
        {"invite_id": opening.invite.id, "code": code, "language": language},
    )
    turn.say(
        turn._("Welcome! Please choose your language."),
        reply_markup=language_picker(cb.OnboardingLanguage, preselected=language),
    )


def _ask_staff(turn: Turn, invite) -> None:  # type: ignore[no-untyped-def]
    """Someone with a role already: adding another one is their choice, not the link's."""
    assert turn.person is not None
    centre = invite.job_centre.name if invite.job_centre else turn._("all job centres")
    roles = sorted({turn._(ROLE_NOUNS[grant.role]) for grant in turn.person.roles})
    turn.say(
        turn._("You are already registered as {roles}. This invite adds the role {role} for "
               "{centre} to your account. Do you want that?", roles=", ".join(roles),
               role=Term(ROLE_NOUNS[invite.role]), centre=centre),
        reply_markup=InlineKeyboardMarkup([[
            InlineKeyboardButton(turn._("Yes, add it"),
                                 callback_data=cb.StaffInviteAnswer(invite.id, "y").encode()),
            InlineKeyboardButton(turn._("No"),
                                 callback_data=cb.StaffInviteAnswer(invite.id, "n").encode()),
        ]]))


@on(roles={Role.COACH, Role.TEAM_LEAD, Role.ADMIN})
def answer_staff_invite(turn: Turn) -> None:
    assert turn.person is not None
    pressed = turn.pressed(cb.StaffInviteAnswer)
    if pressed is None:
        turn.stale()
        return
    invite = onboarding.answer_staff_invite(turn.db, turn.now, pressed.invite, turn.person,
                                            turn.user_id, accept=pressed.answer == "y")
    if invite is None:
        turn.stale()
        return
    if pressed.answer == "n":
        turn.edit_or_say(turn._("Nothing has changed. The invite was not used and still "
                                "works for someone else."))
        return
    centre = invite.job_centre.name if invite.job_centre else turn._("all job centres")
    turn.edit_or_say(turn._("You are now registered as {role} for {centre}.",
                            role=Term(ROLE_NOUNS[invite.role]), centre=centre))
    show_home(turn)


def _accept_staff(turn: Turn, invite) -> None:  # type: ignore[no-untyped-def]
    user = turn.update.effective_user
    assert user is not None
    person = onboarding.accept_staff_invite(
        turn.db, turn.now, invite, person=turn.person, telegram_user_id=turn.user_id,
        chat_id=turn.chat_id, language=turn.t.language, display_name=user.first_name,
    )
    turn.person = person
    centre = invite.job_centre.name if invite.job_centre else turn._("all job centres")
    turn.say(turn._(
        "You are now registered as {role} for {centre}.",
        role=Term(ROLE_NOUNS[invite.role]), centre=centre,
    ))
    show_home(turn)


@on()
def choose_language(turn: Turn) -> None:
    pressed = turn.pressed(cb.OnboardingLanguage)
    state = turn.conversation(onboarding.FLOW, "language", "consent") if pressed else None
    if pressed is None or state is None:
        turn.stale()
        return
    language = pressed.language
    conversations.advance(turn.db, turn.now, state, "consent", language=language)
    turn.use_language(language)
    turn.edit_or_say(turn._("Language: {language}", language=LANGUAGES[language]))
    turn.say(_consent_text(turn), reply_markup=_consent_buttons(turn))


def _consent_text(turn: Turn) -> str:
    return turn._(CONSENT_TEXT)


def _consent_buttons(turn: Turn) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(turn._("I agree"), callback_data=cb.OnboardingConsent("y").encode()),
        InlineKeyboardButton(turn._("No, thanks"),
                             callback_data=cb.OnboardingConsent("n").encode()),
    ]])


@where_hint(onboarding.FLOW)
def where_in_onboarding(turn: Turn, state: ConversationState) -> None:
    """Text typed while registering: the step's question again, with its buttons (the
    person is not known yet, but they are not a stranger either)."""
    if state.step == "language":
        turn.say(turn._("Welcome! Please choose your language with the buttons below."),
                 reply_markup=language_picker(cb.OnboardingLanguage,
                                              preselected=turn.t.language))
    elif state.step == "consent":
        turn.say(turn._("To register, please read the text above about your data, then "
                        "press “I agree” or “No, thanks” below."),
                 reply_markup=_consent_buttons(turn))
    else:
        turn.say(turn._("You are registered. Please choose a time for your information "
                        "session with the buttons below."))
        _offer_choices(turn, state.data["centre"], exclude=None)


@on()
def answer_consent(turn: Turn) -> None:
    pressed = turn.pressed(cb.OnboardingConsent)
    state = turn.conversation(onboarding.FLOW, "consent") if pressed else None
    if pressed is None or state is None:
        turn.stale()
        return
    if pressed.answer == "n":
        conversations.finish(turn.db, state)
        invites.let_go(turn.db, turn.now, state.data["invite_id"], turn.user_id)
        turn.edit_or_say(turn._(
            "No problem. Nothing about you has been stored.\n\n"
            "If you change your mind, open the same link again while it is valid, "
            "or ask your coach for a new one."
        ))
        return
    user = turn.update.effective_user
    assert user is not None
    person, enrolment = onboarding.enrol_aspirant(
        turn.db, turn.now, state.data["invite_id"], state.data["code"],
        telegram_user_id=turn.user_id, chat_id=turn.chat_id, language=turn.t.language,
        display_name=user.first_name,
    )
    turn.person = person
    turn.edit_or_say(turn._("Thank you! You are now registered."))
    invite_session_id = invites_session_id(turn, state.data["invite_id"])
    if invite_session_id is not None:
        session = info_sessions.get(turn.db, invite_session_id)
        if session is not None and info_sessions.is_open(turn.db, turn.now, session):
            conversations.advance(turn.db, turn.now, state, "session", offered=session.id,
                                  centre=enrolment.job_centre_id)
            _offer_session(turn, session)
            return
    conversations.advance(turn.db, turn.now, state, "session", offered=None,
                          centre=enrolment.job_centre_id)
    _offer_choices(turn, enrolment.job_centre_id)


def invites_session_id(turn: Turn, invite_id: int) -> int | None:
    invite = invites.get(turn.db, invite_id)
    return invite.info_session_id if invite is not None else None


def _offer_session(turn: Turn, session) -> None:  # type: ignore[no-untyped-def]
    turn.say(
        turn._("You are invited to an information session at the job centre:\n\n{summary}",
               summary=session_summary(turn.t, session)),
        reply_markup=InlineKeyboardMarkup([
            [InlineKeyboardButton(turn._("I'll come"),
                                  callback_data=cb.OnboardingSession(session.id).encode())],
            [InlineKeyboardButton(turn._("Choose another time"),
                                  callback_data=cb.OnboardingOtherTime().encode())],
        ]),
    )
    if session.latitude is not None and session.longitude is not None:
        turn.send_location(session.latitude, session.longitude)


def _offer_choices(turn: Turn, centre_id: int, *, exclude: int | None = None) -> None:
    sessions = [
        s for s in info_sessions.upcoming_with_places(turn.db, turn.now, centre_id, limit=6)
        if s.id != exclude
    ]
    if not sessions:
        state = turn.conversation(onboarding.FLOW, "session")
        conversations.finish(turn.db, state)
        turn.say(turn._(
            "There is no information session with free places right now. "
            "Your coach will contact you about a time."
        ))
        show_home(turn)
        return
    buttons = [session_button(turn.t, s, cb.OnboardingSession(s.id)) for s in sessions]
    turn.say(turn._("Choose a time for your information session:"),
                   reply_markup=one_column(buttons))


@on(roles={Role.ASPIRANT})
def choose_session(turn: Turn) -> None:
    assert turn.person is not None
    pressed = turn.pressed(cb.OnboardingSession, cb.OnboardingOtherTime)
    state = turn.conversation(onboarding.FLOW, "session") if pressed else None
    if pressed is None or state is None:
        turn.stale()
        return
    centre_id = state.data["centre"]
    if isinstance(pressed, cb.OnboardingOtherTime):
        turn.edit_or_say(turn._("Let's find another time."))
        _offer_choices(turn, centre_id, exclude=state.data.get("offered"))
        return
    assert isinstance(pressed, cb.OnboardingSession)
    session = info_sessions.get(turn.db, pressed.session)
    if session is None or session.job_centre_id != centre_id:
        turn.stale()
        return
    try:
        info_sessions.book(turn.db, turn.now, turn.person, session.id)
    except DomainError as problem:
        turn.toast(turn._(problem.message), alert=True)
        _offer_choices(turn, centre_id, exclude=session.id)
        return
    conversations.finish(turn.db, state)
    turn.edit_or_say(turn._("You are booked for the information session:\n\n{summary}",
                                  summary=session_summary(turn.t, session)))
    show_home(turn)


def register(application: Application) -> None:
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(choose_language,
                                                 pattern=cb.OnboardingLanguage.matches))
    application.add_handler(CallbackQueryHandler(answer_consent,
                                                 pattern=cb.OnboardingConsent.matches))
    application.add_handler(CallbackQueryHandler(answer_staff_invite,
                                                 pattern=cb.StaffInviteAnswer.matches))
    application.add_handler(CallbackQueryHandler(
        choose_session, pattern=cb.any_of(cb.OnboardingSession, cb.OnboardingOtherTime)))

