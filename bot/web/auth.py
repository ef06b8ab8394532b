"""Signing in with the link from ``/web``, signing out, the language, and one's sessions.

The link opens a page with a button rather than signing in on the GET itself: link
previews and scanners fetch links, and must not use up a single-use link.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.orm import Session

from bot.errors import DomainError
from bot.models import ConsoleSession
from bot.services.web import sign_in
from bot.web.base import (
    Viewer,
    console_of,
    guest_translator,
    in_console,
    origin_of,
    problem_page,
    render,
    route_int,
    see_other,
)


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    console = console_of(request)
    # A browser session cookie (no expiry): the database decides how long it is good for.
    response.set_cookie(console.cookie_name, token, path="/", httponly=True,
                        secure=console.secure, samesite="Strict")


def clear_session_cookie(request: web.Request, response: web.StreamResponse) -> None:
    console = console_of(request)
    response.del_cookie(console.cookie_name, path="/", secure=console.secure,
                        httponly=True, samesite="Strict")


async def sign_in_help(request: web.Request) -> web.Response:
    signed_out = request.query.get("out") == "1"
    return render(request, "signin.html", token=None, person_name=None, signed_out=signed_out,
                  refused=None)


async def sign_in_link(request: web.Request) -> web.Response:
    console = console_of(request)
    token = request.match_info["token"]
    now = console.runtime.clock.now()

    def peek(db: Session) -> tuple[str, str] | None:
        person = sign_in.link_is_usable(db, now, token)
        if person is None:
            return None
        return person.display_name or "?", person.language

    found = await console.runtime.database.run(peek)
    t = guest_translator(request)
    if found is None:
        return render(request, "signin.html", t=t, status=410, token=None, person_name=None,
                      signed_out=False, refused=t._(sign_in.LINK_REFUSED))
    return render(request, "signin.html", t=t, token=token, person_name=found[0],
                  signed_out=False, refused=None)


async def sign_in_post(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    form = await request.post()
    t = guest_translator(request)
    origin = request.headers.get("Origin")
    if origin is not None and origin not in (console.origin, origin_of(str(request.url))):
        return problem_page(request, 403, t._("Sorry, this is not available to you."), t=t)
    token = str(form.get("token") or "")
    fallback = sign_in.console_language(t.language)

    def use(db: Session) -> sign_in.Opened:
        return sign_in.redeem(db, console.runtime.clock.now(), token,
                              fallback_language=fallback)

    try:
        opened = await console.runtime.database.run(use)
    except DomainError as error:
        return render(request, "signin.html", t=t, status=410, token=None, person_name=None,
                      signed_out=False, refused=t._(error.message, **error.params))
    response = see_other("/")
    set_session_cookie(request, response, opened.token)
    return response


async def sign_out(request: web.Request) -> web.StreamResponse:
    def end(db: Session, viewer: Viewer) -> None:
        sign_in.end(db, viewer.now, viewer.person, viewer.session_id)

    await in_console(request, end)
    response = see_other("/signin?out=1")
    clear_session_cookie(request, response)
    return response


async def account(request: web.Request) -> web.Response:
    def sessions(db: Session, viewer: Viewer) -> list[dict[str, object]]:
        return [{"id": s.id, "created_at": s.created_at, "last_seen_at": s.last_seen_at,
                 "expires_at": min(s.expires_at, s.last_seen_at + sign_in.SESSION_IDLE),
                 "current": s.id == viewer.session_id}
                for s in sign_in.active_sessions(db, viewer.now, viewer.person)]

    viewer, rows = await in_console(request, sessions)
    return render(request, "account.html", viewer=viewer, section="account", sessions=rows,
                  idle_minutes=int(sign_in.SESSION_IDLE.total_seconds() // 60),
                  max_hours=int(sign_in.SESSION_MAX.total_seconds() // 3600))


async def end_session(request: web.Request) -> web.StreamResponse:
    session_id = route_int(request, "session_id")

    def end(db: Session, viewer: Viewer) -> bool:
        sign_in.end(db, viewer.now, viewer.person, session_id)
        return session_id == viewer.session_id

    _viewer, was_current = await in_console(request, end)
    if was_current:
        response = see_other("/signin?out=1")
        clear_session_cookie(request, response)
        return response
    return see_other("/account?ended=1")


async def choose_language(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    language = str(form.get("language") or "")
    target = str(form.get("next") or "/")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = "/"

    def change(db: Session, viewer: Viewer) -> None:
        session = db.get(ConsoleSession, viewer.session_id)
        assert session is not None
        sign_in.set_language(db, session, language)

    await in_console(request, change)
    return see_other(target)

