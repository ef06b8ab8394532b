"""The console's aiohttp application and the server ``jobbot run`` starts beside the bot.

Security on every response: a strict Content-Security-Policy (no scripts at all), no
framing, no referrer to other sites (a sign-in link must not leak through one), no caching of pages
with personal data. Errors are pages in the viewer's language; a failure is logged by
its type only (bot/logsafe.py) and never shown as a traceback. No access log: URLs can
hold a sign-in token.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import head_revisions
from bot.errors import JobbotError
from bot.i18n import N_
from bot.models import JobCentre, Role
from bot.presentation.views import ROLE_NOUNS
from bot.runtime import Runtime
from bot.services.people import people
from bot.settings import Settings
from bot.web import auth, caseload, figures, health, rules, sessions
from bot.web.base import (
    CONSOLE,
    CSRF_REFUSED,
    STAFF,
    Console,
    CsrfRefused,
    Shown,
    Viewer,
    guest_translator,
    in_console,
    make_templates,
    origin_of,
    problem_page,
    render,
)
from bot.web.packaged import packaged_file

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
GENERIC = N_("Sorry, something went wrong on our side. Nothing you sent is lost; please try "
             "again in a moment.")
NOT_FOUND = N_("There is no such page.")
_STATIC_TYPES = {".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml"}
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


def cookie_name(secure: bool) -> str:
    # "__Host-": the browser keeps it to this host and path /, and only over HTTPS.
    return "__Host-jobbot_console" if secure else "jobbot_console"


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as error:
        if error.status in (404, 405):
            response = problem_page(request, error.status,
                                    guest_translator(request)._(NOT_FOUND))
        else:
            _harden(request, error)
            raise
    except CsrfRefused:
        response = problem_page(request, 403, guest_translator(request)._(CSRF_REFUSED))
    except Shown as shown:
        t = shown.viewer.t if shown.viewer is not None else guest_translator(request)
        response = problem_page(request, shown.status,
                                t._(shown.error.message, **shown.error.params),
                                viewer=shown.viewer)
    except Exception as error:
        log.error("console page failed: %s", type(error).__name__, exc_info=error)
        response = problem_page(request, 500, guest_translator(request)._(GENERIC))
    _harden(request, response)
    return response


def _harden(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    # Not "no-referrer": Chromium then sends "Origin: null" with forms, and the origin
    # check needs the real one. Same-origin only: a sign-in link never leaves as a referrer.
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cache-Control", "no-store")
    console = request.app[CONSOLE]
    if console.secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")


async def home(request: web.Request) -> web.Response:
    def work(db: Session, viewer: Viewer) -> dict[str, Any]:
        t = viewer.t
        grants = []
        names = dict(db.execute(select(JobCentre.id, JobCentre.name)).all())
        for grant in viewer.person.roles:
            if grant.role == Role.ASPIRANT:
                continue
            role = t._(ROLE_NOUNS[grant.role])
            role = role[:1].upper() + role[1:]
            grants.append(t._("{role} at {centre}", role=role,
                              centre=names.get(grant.job_centre_id, ""))
                          if grant.job_centre_id else
                          t._("{role} at every job centre", role=role))
        return {"grants": grants,
                "lead": bool(people.centres_where(viewer.person, Role.ADMIN, Role.TEAM_LEAD))}

    viewer, data = await in_console(request, work, roles=STAFF)
    return render(request, "home.html", viewer=viewer, section="home", **data)


async def static(request: web.Request) -> web.Response:
    return packaged_file("bot.web", request.match_info["name"], _STATIC_TYPES,
                         cache_control="no-cache")


def make_app(runtime: Runtime, *, heads: set[str],
             wall_clock: Callable[[], float] = time.time) -> web.Application:
    settings = runtime.settings
    secure = settings.console_is_https
    app = web.Application(middlewares=[guard], client_max_size=256 * 1024)
    app[CONSOLE] = Console(runtime=runtime, templates=make_templates(),
                             cookie_name=cookie_name(secure), secure=secure,
                             origin=origin_of(settings.console_url), heads=heads,
                             wall_clock=wall_clock)
    add = app.router
    add.add_get("/", home)
    add.add_get("/static/{name}", static)
    add.add_get("/signin", auth.sign_in_help)
    add.add_get("/signin/{token}", auth.sign_in_link)
    add.add_post("/signin", auth.sign_in_post)
    add.add_post("/signout", auth.sign_out)
    add.add_post("/language", auth.choose_language)
    add.add_get("/account", auth.account)
    add.add_post("/account/sessions/{session_id}/end", auth.end_session)
    add.add_get("/rules", rules.index)
    add.add_get("/rules/new", rules.new)
    add.add_post("/rules/preview", rules.preview)
    add.add_post("/rules/save", rules.save)
    add.add_get("/rules/{rule_id}", rules.show)
    add.add_post("/rules/{rule_id}/switch", rules.switch)
    add.add_get("/sessions", sessions.calendar)
    add.add_get("/sessions/{session_id}", sessions.show)
    add.add_post("/sessions/{session_id}/attendance", sessions.record_attendance)
    add.add_get("/sessions/{session_id}/cancel", sessions.confirm_cancel)
    add.add_post("/sessions/{session_id}/cancel", sessions.cancel)
    add.add_get("/caseload", caseload.index)
    add.add_get("/caseload/{enrolment_id}", caseload.show)
    add.add_get("/figures", figures.index)
    add.add_get("/figures/chart.png", figures.chart)
    add.add_get("/figures.csv", figures.download)
    add.add_get("/healthz", health.healthz)
    add.add_get("/readyz", health.readyz)
    add.add_get("/metrics", health.metrics_page)
    return app


class ConsoleServer:
    """The console on ``JOBBOT_WEB_LISTEN``:``JOBBOT_WEB_PORT``, in the bot's event loop."""

    def __init__(self, settings: Settings, *, port: int | None = None,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.listen = settings.web_listen
        self.port = settings.web_port if port is None else port
        self.wall_clock = wall_clock
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.listen}:{self.port}"

    async def start(self, runtime: Runtime) -> None:
        heads = await asyncio.to_thread(head_revisions, self.settings.database_url)
        app = make_app(runtime, heads=heads, wall_clock=self.wall_clock)
        # No access log: a sign-in link's URL holds its token.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, self.listen, self.port)
        try:
            await site.start()
        except OSError as error:
            await runner.cleanup()
            raise JobbotError(
                f"cannot serve the web console on {self.listen}:{self.port} "
                f"(JOBBOT_WEB_LISTEN, JOBBOT_WEB_PORT): {error.strerror}") from None
        self._runner = runner
        if self.port == 0:
            server = site._server
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        log.info("web console on %s", self.url)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()


def attach(application: Any, settings: Settings) -> ConsoleServer:
    """Have the bot's application serve the console while it runs (bot/app.py starts and
    stops it with the bot)."""
    server = ConsoleServer(settings)
    application.bot_data["console"] = server
    return server

