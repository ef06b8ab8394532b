"""``jobbot checkin-code``: the rotating check-in code of a job centre, and its venue page.

``--watch`` prints each new code; ``--serve PORT`` serves a page on 127.0.0.1 for a
screen at the entrance, showing the code and a QR code of the check-in link, in
every language, refreshing by itself.
"""

from __future__ import annotations

import argparse
import html
import io
import sys
import time
from typing import Any

from aiohttp import web
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock, SystemClock
from bot.db import unit_of_work
from bot.errors import JobbotError
from bot.i18n import LANGUAGES, N_, RIGHT_TO_LEFT, translator
from bot.services.attendance import checkin_codes
from bot.services.attendance import policy as attendance_policy
from bot.services.centres import centres

INSTRUCTION = N_("Check in: scan the QR code with your phone, or choose \"Check in\" in the "
                 "bot and type this code.")


def add_commands(commands: Any) -> None:
    code = commands.add_parser(
        "checkin-code", help="show the rotating check-in code of a job centre",
        description="Prints the current check-in code and the link its QR code carries. "
                    "The code changes every step (60 s by default); the current and the "
                    "previous code are accepted.")
    code.add_argument("--centre", required=True, help="job centre name")
    code.add_argument("--watch", action="store_true", help="keep printing each new code")
    code.add_argument("--serve", type=int, metavar="PORT",
                      help="serve a page with the code and its QR code on 127.0.0.1:PORT")
    code.add_argument("--bot-username", default=None,
                      help="bot username for the QR link (default: JOBBOT_BOT_USERNAME, "
                           "else asked from Telegram)")
    code.set_defaults(run=checkin_code_command)


def _centre_id(sessions: sessionmaker[Session], name: str, clock: Clock) -> int:
    with unit_of_work(sessions) as db:
        centre = centres.by_name(db, name)
        if centre is None:
            raise JobbotError(f"unknown job centre {name!r} (see 'jobbot centre add --help')")
        # Created here with its secret if the centre has none yet.
        attendance_policy.policy_for(db, clock.now(), centre.id)
        return centre.id


def current(sessions: sessionmaker[Session], centre_id: int, clock: Clock,
            username: str | None) -> dict[str, Any]:
    """The code shown now, its link and how long it stays on the screen."""
    now = clock.now()
    with unit_of_work(sessions) as db:
        policy = attendance_policy.policy_for(db, now, centre_id)
        code = checkin_codes.current_code(policy, now)
        left = checkin_codes.seconds_left(policy, now)
    link = checkin_codes.deep_link(username, centre_id, code) if username else None
    return {"code": code, "seconds_left": left, "link": link}


def checkin_code_command(args: argparse.Namespace, settings: Any) -> int:
    from bot.cli_common import bot_username, session_factory

    sessions = session_factory(settings)
    clock = SystemClock()
    centre_id = _centre_id(sessions, args.centre, clock)
    username = bot_username(args, settings) if (
        args.serve or args.bot_username or settings.bot_username or settings.telegram_token
    ) else None
    if args.serve:
        print(f"check-in page for {args.centre}: http://127.0.0.1:{args.serve}/ "
              "(Ctrl+C stops it)", file=sys.stderr)
        web.run_app(code_page_app(sessions, centre_id, clock, username),
                    host="127.0.0.1", port=args.serve, print=None, access_log=None)
        return 0
    shown = None
    while True:
        now = current(sessions, centre_id, clock, username)
        if now["code"] != shown:
            shown = now["code"]
            line = f"{now['code']}  (changes in {now['seconds_left']} s)"
            if now["link"]:
                line += f"  {now['link']}"
            print(line, flush=True)
        if not args.watch:
            return 0
        time.sleep(min(1.0, now["seconds_left"]))


# --- the venue page -----------------------------------------------------------------------
def _qr_svg(content: str) -> bytes:
    import segno

    buffer = io.BytesIO()
    segno.make(content, error="m").save(buffer, kind="svg", scale=10, border=2)
    return buffer.getvalue()


def code_page_app(sessions: sessionmaker[Session], centre_id: int, clock: Clock,
                  username: str | None) -> web.Application:
    async def page(request: web.Request) -> web.Response:
        return web.Response(text=_page_html(centre_id), content_type="text/html")

    async def code_json(request: web.Request) -> web.Response:
        return web.json_response(current(sessions, centre_id, clock, username),
                                 headers={"Cache-Control": "no-store"})

    async def qr(request: web.Request) -> web.Response:
        data = current(sessions, centre_id, clock, username)
        if not data["link"]:
            raise web.HTTPNotFound(text="no bot username: start with --bot-username")
        return web.Response(body=_qr_svg(data["link"]), content_type="image/svg+xml",
                            headers={"Cache-Control": "no-store"})

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/code.json", code_json)
    app.router.add_get("/qr.svg", qr)
    return app


def _page_html(centre_id: int) -> str:
    lines = "\n".join(
        f'<p lang="{code}" dir="{"rtl" if code in RIGHT_TO_LEFT else "ltr"}">'
        f"{html.escape(translator(code)._(INSTRUCTION))}</p>"
        for code in LANGUAGES)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Check-in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; text-align: center; margin: 2rem; }}
#code {{ font-size: 7rem; letter-spacing: .5rem; font-variant-numeric: tabular-nums;
         margin: 1rem 0; }}
#qr {{ width: 22rem; height: 22rem; }}
#left {{ color: #666; }}
p {{ font-size: 1.3rem; margin: .3rem; }}
</style></head>
<body data-centre="{centre_id}">
<img id="qr" alt="QR">
<div id="code">······</div>
<div id="left"></div>
{lines}
<script>
async function refresh() {{
  let wait = 1000;
  try {{
    const data = await (await fetch("code.json", {{cache: "no-store"}})).json();
    const code = document.getElementById("code");
    if (code.textContent !== data.code) {{
      code.textContent = data.code;
      if (data.link) document.getElementById("qr").src = "qr.svg?c=" + data.code;
    }}
    document.getElementById("left").textContent = data.seconds_left + " s";
  }} catch (error) {{ wait = 3000; }}
  setTimeout(refresh, wait);
}}
refresh();
</script>
</body></html>"""
