"""/invite: a coach or admin creates an invite link and QR code in chat.

Steps (kept in the conversation table): role (admins only) → job centre →
information session (aspirants) → daily attendance requirement (aspirants).
Every press is re-checked: the presser must still hold the role at that centre.
"""

from __future__ import annotations

from datetime import timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.errors import NotAllowed
from bot.i18n import N_, Term
from bot.models import JobCentre, Role
from bot.presentation import callbacks as cb
from bot.presentation.views import ROLE_NOUNS, session_button
from bot.qr import qr_png
from bot.services.centres import centres
from bot.services.people import invites, people
from bot.services.sessions import info_sessions
from bot.services.system import conversations
from handlers.base import Turn, on
from handlers.menu import where_hint

FLOW = "invite"
STAFF = frozenset({Role.COACH, Role.ADMIN})
_ROLE_LABELS = {
    Role.ASPIRANT: N_("Aspirant"),
    Role.COACH: N_("Coach"),
    Role.TEAM_LEAD: N_("Team lead"),
    Role.ADMIN: N_("Administrator"),
    Role.SOCIAL_WORKER: N_("Social worker"),
}


def _allowed_centres(turn: Turn, role: Role) -> list[JobCentre]:
    """Centres where the presser may invite ``role``: coaches invite aspirants, admins anyone."""
    assert turn.person is not None
    granting = (Role.ADMIN,) if role != Role.ASPIRANT else (Role.COACH, Role.ADMIN)
    where = people.centres_where(turn.person, *granting)
    return [c for c in centres.active(turn.db) if None in where or c.id in where]


@where_hint(FLOW)
def where_in_invite(turn: Turn, state: object) -> None:
    turn.say(turn._("You are creating an invite link: please choose with the buttons above, "
                    "or send /invite to start again."))


@on(roles=STAFF)
def invite_command(turn: Turn) -> None:
    state = conversations.begin(turn.db, turn.now, turn.user_id, turn.chat_id, FLOW, "role")
    if turn.has_role(Role.ADMIN):
        buttons = [InlineKeyboardButton(turn._(_ROLE_LABELS[r]),
                                        callback_data=cb.InviteRole(r).encode())
                   for r in (Role.ASPIRANT, Role.COACH, Role.TEAM_LEAD, Role.ADMIN,
                             Role.SOCIAL_WORKER)]
        turn.say(turn._("Whom do you want to invite?"),
                       reply_markup=InlineKeyboardMarkup([buttons[:2], buttons[2:4],
                                                          buttons[4:]]))
        return
    _ask_centre(turn, state, Role.ASPIRANT)


@on(roles={Role.ADMIN})
def choose_role(turn: Turn) -> None:
    pressed = turn.pressed(cb.InviteRole)
    state = turn.conversation(FLOW, "role") if pressed else None
    if pressed is None or state is None:
        turn.stale()
        return
    _ask_centre(turn, state, pressed.role)


def _ask_centre(turn: Turn, state, role: Role) -> None:  # type: ignore[no-untyped-def]
    allowed = _allowed_centres(turn, role)
    if role == Role.ADMIN and turn.has_role(Role.ADMIN) and None in people.centres_where(
            turn.person, Role.ADMIN):  # type: ignore[arg-type]
        # An administrator of every centre can make another one.
        conversations.advance(turn.db, turn.now, state, "centre", role=role.value)
        _finish(turn, state, role, None)
        return
    if not allowed:
        conversations.finish(turn.db, state)
        turn.edit_or_say(turn._("There is no job centre where you can invite someone. "
                                      "Ask an administrator to add one."))
        return
    conversations.advance(turn.db, turn.now, state, "centre", role=role.value)
    if len(allowed) == 1:
        _after_centre(turn, state, role, allowed[0])
        return
    buttons = [InlineKeyboardButton(c.name, callback_data=cb.InviteCentre(c.id).encode())
               for c in allowed]
    turn.edit_or_say(turn._("Which job centre?"),
                           reply_markup=InlineKeyboardMarkup([[b] for b in buttons]))


@on(roles=STAFF)
def choose_centre(turn: Turn) -> None:
    pressed = turn.pressed(cb.InviteCentre)
    state = turn.conversation(FLOW, "centre") if pressed else None
    if pressed is None or state is None:
        turn.stale()
        return
    role = Role(state.data["role"])
    centre = next((c for c in _allowed_centres(turn, role) if c.id == pressed.centre), None)
    if centre is None:
        raise NotAllowed(N_("Sorry, this is not available to you."))
    _after_centre(turn, state, role, centre)


def _after_centre(turn: Turn, state, role: Role, centre: JobCentre) -> None:  # type: ignore[no-untyped-def]
    if role != Role.ASPIRANT:
        _finish(turn, state, role, centre)
        return
    conversations.advance(turn.db, turn.now, state, "session", centre=centre.id)
    sessions = info_sessions.upcoming_with_places(turn.db, turn.now, centre.id, limit=6)
    buttons = [session_button(turn.t, s, cb.InviteSession(s.id)) for s in sessions]
    buttons.append(InlineKeyboardButton(turn._("No session: the aspirant chooses"),
                                        callback_data=cb.InviteSession(0).encode()))
    turn.edit_or_say(
        turn._("{centre}: which information session should the aspirant come to?",
               centre=centre.name),
        reply_markup=InlineKeyboardMarkup([[b] for b in buttons]),
    )


@on(roles=STAFF)
def choose_session(turn: Turn) -> None:
    pressed = turn.pressed(cb.InviteSession)
    state = turn.conversation(FLOW, "session") if pressed else None
    if pressed is None or state is None:
        turn.stale()
        return
    session_id = pressed.session or None
    if session_id is not None:
        session = info_sessions.get(turn.db, session_id)
        if session is None or session.job_centre_id != state.data["centre"]:
            turn.stale()
            return
    conversations.advance(turn.db, turn.now, state, "attendance", session=session_id)
    turn.edit_or_say(
        turn._("Does the aspirant have a daily attendance requirement?"),
        reply_markup=InlineKeyboardMarkup([[
            InlineKeyboardButton(turn._("Yes"), callback_data=cb.InviteAttendance(True).encode()),
            InlineKeyboardButton(turn._("No"), callback_data=cb.InviteAttendance(False).encode()),
        ]]),
    )


@on(roles=STAFF)
def choose_attendance(turn: Turn) -> None:
    pressed = turn.pressed(cb.InviteAttendance)
    state = turn.conversation(FLOW, "attendance") if pressed else None
    if pressed is None or state is None:
        turn.stale()
        return
    centre = next((c for c in _allowed_centres(turn, Role.ASPIRANT)
                   if c.id == state.data["centre"]), None)
    if centre is None:
        raise NotAllowed(N_("Sorry, this is not available to you."))
    _finish(turn, state, Role.ASPIRANT, centre,
                  attendance_required=pressed.required)


def _finish(turn: Turn, state, role: Role, centre: JobCentre | None,  # type: ignore[no-untyped-def]
                  *, attendance_required: bool = False) -> None:
    assert turn.person is not None
    session = None
    if role == Role.ASPIRANT and state.data.get("session"):
        session = info_sessions.get(turn.db, state.data["session"])
    coach = turn.person if role == Role.ASPIRANT and turn.has_role(Role.COACH) else None
    invite = invites.create(
        turn.db, turn.now, role=role, created_by=turn.person, job_centre=centre, coach=coach,
        info_session=session, attendance_required=attendance_required,
        valid_for=timedelta(days=turn.runtime.settings.invite_valid_days),
    )
    conversations.finish(turn.db, state)
    link = invites.deep_link(turn.runtime.bot_username, invite.code)
    turn.db.commit()
    turn.edit_or_say(turn._(
        "Invite for a new {role} ready. It works once and until {date}.\n\n{link}",
        role=Term(ROLE_NOUNS[role]), date=turn.t.date(invite.expires_at), link=link,
    ))
    turn.send_photo(qr_png(link), caption=turn._("Show this QR code, or send the link."))


@on(roles=frozenset({Role.COACH, Role.TEAM_LEAD, Role.ADMIN}))
def release_invite(turn: Turn) -> None:
    """"Release the invite" under the notice that another account was refused."""
    assert turn.person is not None
    pressed = turn.pressed(cb.InviteRelease)
    if pressed is None:
        turn.stale()
        return
    invites.release(turn.db, turn.now, pressed.invite, turn.person)
    turn.edit_or_say(turn._("The invite is released. The next Telegram account that opens the "
                            "link can use it, so tell the person you invited to open it now."))


def register(application: Application) -> None:
    application.add_handler(CommandHandler("invite", invite_command))
    application.add_handler(CallbackQueryHandler(choose_role, pattern=cb.InviteRole.matches))
    application.add_handler(CallbackQueryHandler(choose_centre, pattern=cb.InviteCentre.matches))
    application.add_handler(CallbackQueryHandler(choose_session, pattern=cb.InviteSession.matches))
    application.add_handler(CallbackQueryHandler(choose_attendance,
                                                 pattern=cb.InviteAttendance.matches))
    application.add_handler(CallbackQueryHandler(release_invite,
                                                 pattern=cb.InviteRelease.matches))
