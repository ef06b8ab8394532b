"""What every console page shares: the signed-in viewer, one unit of work per request,
CSRF checks, and rendering a template in the viewer's language.

A page handler describes its database work as ``work(db, viewer)``; ``in_console``
runs it in one unit of work together with resuming the session from its cookie and
the role check, so a page never sees a session or a role that was just taken away.
Refusals and domain errors roll that unit back and are shown as a page in the
viewer's language; nothing reaches the browser as a traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any, TypeVar
from urllib.parse import urlsplit

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.orm import Session

from bot.errors import DomainError, NotAllowed, NotFound
from bot.i18n import N_, Translator, supported_language, translator
from bot.models import Person, Role
from bot.runtime import Runtime
from bot.services.messaging import outbox
from bot.services.web import sign_in

T = TypeVar("T")

STAFF = frozenset(sign_in.STAFF_ROLES)
ADMIN = frozenset({Role.ADMIN})
REFUSED = N_("Sorry, this is not available to you.")
CSRF_FIELD = "csrf"
CSRF_REFUSED = N_("This form has expired or did not come from this console, so nothing was "
                  "changed. Please open the page again and repeat what you did.")


@dataclass
class Console:
    """The console's state, shared by every request (``request.app[CONSOLE]``)."""

    runtime: Runtime
    templates: Environment
    cookie_name: str
    secure: bool
    origin: str
    # Alembic's head revisions, read once at start (a file read, not for the event loop).
    heads: set[str] = field(default_factory=set)
    # Unix time for the dispatcher heartbeat's age (tests pass their own).
    wall_clock: Callable[[], float] = field(default=lambda: 0.0)

    @property
    def settings(self) -> Any:
        return self.runtime.settings


CONSOLE = web.AppKey("console", Console)


def console_of(request: web.Request) -> Console:
    return request.app[CONSOLE]


def make_templates() -> Environment:
    folder = resources.files("bot.web") / "templates"
    return Environment(loader=FileSystemLoader(str(folder)),
                       autoescape=select_autoescape(["html"]),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


@dataclass
class Viewer:
    """The signed-in staff member of this request."""

    session_id: int
    # Loaded in this request's unit of work: for services, not for templates.
    person: Person
    language: str
    t: Translator
    csrf: str
    now: datetime
    # Plain copies for the templates, which render after the unit of work has ended.
    name: str = ""
    roles: frozenset[Role] = frozenset()
    settings: Any = None

    def __post_init__(self) -> None:
        self.name = self.person.display_name or "?"
        self.roles = frozenset(grant.role for grant in self.person.roles)

    def has_role(self, *roles: Role) -> bool:
        return any(role in self.roles for role in roles)


class SignInNeeded(Exception):
    """No usable session: the browser is sent to the sign-in page."""


class Shown(Exception):
    """A refusal or a domain error, to be shown as a page to this viewer."""

    def __init__(self, viewer: Viewer | None, status: int, error: DomainError) -> None:
        super().__init__(error.message)
        self.viewer = viewer
        self.status = status
        self.error = error


def _status_of(error: DomainError) -> int:
    if isinstance(error, NotAllowed):
        return 403
    if isinstance(error, NotFound):
        return 404
    return 400


async def in_console(request: web.Request, work: Callable[[Session, Viewer], T], *,
                     roles: Iterable[Role] = STAFF) -> tuple[Viewer, T]:
    """``work`` in one unit of work for the signed-in viewer, if they hold one of ``roles``.

    A POST must carry the session's CSRF token (and come from this console's origin);
    otherwise nothing runs.
    """
    console = console_of(request)
    token = request.cookies.get(console.cookie_name)
    allowed = frozenset(roles)
    if request.method == "POST":
        await check_form(request, token)

    def unit(db: Session) -> tuple[Viewer, T]:
        now = console.runtime.clock.now()
        resumed = sign_in.resume(db, now, token)
        if resumed is None:
            raise SignInNeeded()
        session, person = resumed
        t = translator(session.language, console.settings.timezone)
        viewer = Viewer(session.id, person, session.language, t,
                        sign_in.csrf_token(token or ""), now, settings=console.settings)
        if not person.has_role(*allowed):
            raise Shown(viewer, 403, NotAllowed(REFUSED))
        try:
            result = work(db, viewer)
        except DomainError as error:
            raise Shown(viewer, _status_of(error), error) from None
        queued.append(outbox.queued_in(db))
        return viewer, result

    queued: list[bool] = []
    try:
        found = await console.runtime.database.run(unit)
    except SignInNeeded:
        raise web.HTTPSeeOther(location="/signin") from None
    if any(queued):
        # Committed messages (a cancellation notice, a new time offered) go out now.
        console.runtime.wake_dispatcher()
    return found


class CsrfRefused(Exception):
    pass


async def check_form(request: web.Request, token: str | None) -> Mapping[str, str]:
    """The posted form, if it carries this session's token and comes from this origin."""
    form = await request.post()
    origin = request.headers.get("Origin")
    console = console_of(request)
    if origin is not None and origin not in (console.origin, _request_origin(request)):
        raise CsrfRefused()
    if token is None or not sign_in.csrf_matches(token, form.get(CSRF_FIELD)):  # type: ignore[arg-type]
        raise CsrfRefused()
    return form  # type: ignore[return-value]


def _request_origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def guest_translator(request: web.Request) -> Translator:
    """Before sign-in: Swedish or English, as the browser asks, else the default."""
    console = console_of(request)
    for part in request.headers.get("Accept-Language", "").split(","):
        language = supported_language(part.split(";")[0].strip())
        if language in sign_in.CONSOLE_LANGUAGES:
            return translator(language, console.settings.timezone)
    return translator(sign_in.console_language(console.settings.default_language),
                      console.settings.timezone)


NAV = (
    ("home", "/", N_("Start"), STAFF),
    ("caseload", "/caseload", N_("Caseload"), STAFF),
    ("sessions", "/sessions", N_("Information sessions"), STAFF),
    ("rules", "/rules", N_("Reminder rules"), ADMIN),
    ("figures", "/figures", N_("Figures"), STAFF),
    ("account", "/account", N_("My sign-ins"), STAFF),
)


def render(request: web.Request, template: str, *, viewer: Viewer | None = None,
           t: Translator | None = None, status: int = 200, section: str = "",
           **context: Any) -> web.Response:
    t = viewer.t if viewer is not None else (t or guest_translator(request))
    nav = []
    if viewer is not None:
        nav = [{"key": key, "href": href, "label": t._(label)} for key, href, label, roles
               in NAV if viewer.has_role(*roles)]
    html = console_of(request).templates.get_template(template).render(
        _=t._, ngettext=t.ngettext, t=t, viewer=viewer, nav=nav, section=section,
        lang=t.language, csrf=viewer.csrf if viewer is not None else "",
        here=request.path_qs if request.method == "GET" else "/",
        csrf_field=CSRF_FIELD, **context)
    return web.Response(text=html, content_type="text/html", charset="utf-8", status=status)


def problem_page(request: web.Request, status: int, message: str, *,
                 viewer: Viewer | None = None, t: Translator | None = None) -> web.Response:
    return render(request, "problem.html", viewer=viewer, t=t, status=status, message=message)


def see_other(location: str) -> web.Response:
    """After a form: the browser loads ``location`` with GET (no resubmission on reload)."""
    return web.Response(status=303, headers={"Location": location})


def parse_id(value: object) -> int | None:
    """An id from a form, query or path: ASCII digits within the database's integer range,
    else None. (``"²".isdigit()`` is true and ``int("²")`` fails; 20 digits overflow.)"""
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) >= 10:
        return None
    return int(text)


def form_int(form: Mapping[str, Any], name: str) -> int | None:
    return parse_id(form.get(name))


def query_int(request: web.Request, name: str) -> int | None:
    return parse_id(request.query.get(name))


def route_int(request: web.Request, name: str) -> int:
    value = parse_id(request.match_info.get(name))
    if value is None:
        raise web.HTTPNotFound()
    return value
