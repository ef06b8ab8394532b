"""The emulated Bot API over HTTP on 127.0.0.1, for the real bot running as a process.

Routes follow the Bot API: ``/bot<token>/<method>`` and ``/file/bot<token>/<path>``.
A small control API under ``/_emulator/`` lets tests and the sandbox act as users
(send text, press buttons, share a location) and read the chats. Once the bot sets a
webhook, updates are posted to it from this server's event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from bot.emulator.core import BotApiEmulator, EmulatedTimeout, Fault, RollingLimit, Storm

EMULATOR_KEY = web.AppKey("emulator", BotApiEmulator)


def make_app(emulator: BotApiEmulator) -> web.Application:
    app = web.Application(client_max_size=20 * 1024 * 1024)
    app[EMULATOR_KEY] = emulator
    app.router.add_route("*", "/bot{token}/{method}", _bot_method)
    app.router.add_get("/file/bot{token}/{path:.+}", _file)
    app.router.add_get("/_emulator/chats", _chats)
    app.router.add_get("/_emulator/chats/{chat_id}", _chat)
    app.router.add_get("/_emulator/wait", _wait)
    app.router.add_post("/_emulator/users", _add_user)
    app.router.add_post("/_emulator/chats/{chat_id}/text", _user_text)
    app.router.add_post("/_emulator/chats/{chat_id}/press", _user_press)
    app.router.add_post("/_emulator/chats/{chat_id}/location", _user_location)
    app.router.add_post("/_emulator/faults", _fault)
    app.router.add_get("/_emulator/files/{file_id}", _raw_file)
    app.router.add_get("/_emulator/calls", _calls)
    app.router.add_post("/_emulator/limit", _limit)
    app.router.add_post("/_emulator/storm", _storm)
    app.router.add_post("/_emulator/outage", _outage)
    app.router.add_get("/_emulator/stats", _stats)

    async def stop_delivery(app: web.Application) -> None:
        await emulator.stop_delivery()

    app.on_cleanup.append(stop_delivery)
    return app


async def _bot_method(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR_KEY]
    if request.match_info["token"] != emulator.token:
        return web.json_response({"ok": False, "error_code": 401,
                                  "description": "Unauthorized"}, status=401)
    method = request.match_info["method"]
    params, files = await _read_params(request)
    if method == "getUpdates" and emulator.webhook is None:
        updates = await emulator.get_updates(
            params.get("offset") and int(params["offset"]),
            float(params.get("timeout", 0) or 0),
            int(params.get("limit", 100) or 100),
        )
        emulator.call("getUpdates", {"offset": params.get("offset")})
        return web.json_response({"ok": True, "result": updates})
    try:
        status, body = emulator.call(method, params, files)
    except EmulatedTimeout as timeout:
        await asyncio.sleep(timeout.delay)
        return web.json_response({"ok": False, "error_code": 504,
                                  "description": "Gateway Timeout"}, status=504)
    return web.json_response(body, status=status)


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, Any]]:
    params: dict[str, Any] = dict(request.query)
    files: dict[str, tuple[str, bytes, str]] = {}
    if request.method != "POST" or not request.can_read_body:
        return params, files
    content_type = request.content_type
    if content_type == "application/json":
        params.update(await request.json())
    elif content_type == "multipart/form-data":
        reader = await request.multipart()
        async for part in reader:
            if part.filename:  # type: ignore[union-attr]
                content = await part.read()  # type: ignore[union-attr]
                files[part.name] = (part.filename,  # type: ignore[union-attr,index]
                                    bytes(content),
                                    part.headers.get("Content-Type", "application/octet-stream"))
            else:
                params[part.name] = await part.text()  # type: ignore[union-attr,index]
    else:
        params.update(dict(await request.post()))
    return params, files


async def _file(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR_KEY]
    file_id = request.match_info["path"].rsplit("/", 1)[-1]
    if file_id not in emulator.files:
        raise web.HTTPNotFound()
    _name, content, mime = emulator.files[file_id]
    return web.Response(body=content, content_type=mime)


_raw_file = _file


async def _chats(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR_KEY]
    return web.json_response([
        {"user": user, "messages": len(emulator.messages.get(uid, []))}
        for uid, user in emulator.users.items()
    ])


async def _chat(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR_KEY]
    chat_id = int(request.match_info["chat_id"])
    if chat_id not in emulator.users:
        raise web.HTTPNotFound()
    return web.json_response({
        "user": emulator.users[chat_id],
        "messages": emulator.chat_log(chat_id),
        "reply_keyboard": emulator.reply_keyboards.get(chat_id),
        "toasts": [a for a in emulator.callback_answers if a.get("text")][-5:],
    })


async def _wait(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR_KEY]
    await emulator.wait_for_change(float(request.query.get("timeout", "20")))
    return web.json_response({"ok": True})


async def _add_user(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR_KEY]
    body = await request.json()
    user = emulator.add_user(body["first_name"], body.get("language_code"), body.get("id"))
    return web.json_response(user)


async def _user_text(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR_KEY]
    body = await request.json()
    update = emulator.user_sends_text(int(request.match_info["chat_id"]), str(body["text"]))
    return web.json_response(update)


async def _user_press(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR_KEY]
    body = await request.json()
    try:
        update = emulator.user_presses(int(request.match_info["chat_id"]),
                                       int(body["message_id"]), str(body["data"]))
    except KeyError:
        raise web.HTTPNotFound() from None
    return web.json_response(update)


async def _user_location(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR_KEY]
    body = await request.json()
    update = emulator.user_shares_location(int(request.match_info["chat_id"]),
                                           float(body["latitude"]), float(body["longitude"]))
    return web.json_response(update)


async def _fault(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR_KEY]
    body = await request.json()
    emulator.inject(Fault(kind=body["kind"], method=body.get("method"),
                          times=int(body.get("times", 1)),
                          retry_after=int(body.get("retry_after", 1)),
                          delay=float(body.get("delay", 0))))
    return web.json_response({"ok": True})


async def _limit(request: web.Request) -> web.Response:
    """Flood control: {"per_second": 30, "window": 1.0, "retry_after": 1}; 0 removes it."""
    emulator = request.app[EMULATOR_KEY]
    body = await request.json()
    per_second = int(body.get("per_second") or 0)
    emulator.rate_limit = RollingLimit(per_second, window=float(body.get("window", 1.0)),
                                       retry_after=int(body.get("retry_after", 1))
                                       ) if per_second > 0 else None
    return web.json_response({"ok": True})


async def _storm(request: web.Request) -> web.Response:
    """A share of sends answered 429: {"probability": 0.5, "retry_after": 1}; 0 ends it."""
    emulator = request.app[EMULATOR_KEY]
    body = await request.json()
    probability = float(body.get("probability") or 0)
    emulator.storm = Storm(probability, retry_after=int(body.get("retry_after", 1)),
                           seed=int(body.get("seed", 0))) if probability > 0 else None
    return web.json_response({"ok": True})


async def _outage(request: web.Request) -> web.Response:
    """Every send fails until cleared: {"kind": "5xx" | "timeout" | null, "delay": 0}."""
    emulator = request.app[EMULATOR_KEY]
    body = await request.json()
    kind = body.get("kind")
    if kind not in (None, "5xx", "timeout"):
        return web.json_response({"ok": False, "description": "kind: 5xx, timeout or null"},
                                 status=400)
    emulator.outage = kind
    emulator.outage_delay = float(body.get("delay", 0))
    return web.json_response({"ok": True})


async def _stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[EMULATOR_KEY].stats())


async def _calls(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR_KEY]
    return web.json_response([
        {"method": c.method, "status": c.status,
         "params": {k: v for k, v in c.params.items() if isinstance(v, str | int | float)}}
        for c in emulator.calls
    ])


async def serve(emulator: BotApiEmulator, host: str = "127.0.0.1", port: int = 0,
                *, shutdown_timeout: float = 60.0) -> tuple[web.AppRunner, int]:
    """Start serving; returns the runner (to clean up) and the bound port.

    ``shutdown_timeout``: how long cleanup waits for requests in flight, such as a
    getUpdates long poll the bot has already given up on."""
    runner = web.AppRunner(make_app(emulator), access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    bound = server.sockets[0].getsockname()[1] if server and server.sockets else port  # type: ignore[union-attr]
    return runner, bound


def main() -> None:  # pragma: no cover - used by tests that need a separate process
    import argparse

    parser = argparse.ArgumentParser(description="Serve the emulated Bot API on 127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:emulated")
    args = parser.parse_args()
    web.run_app(make_app(BotApiEmulator(args.token)), host="127.0.0.1", port=args.port)


if __name__ == "__main__":  # pragma: no cover
    main()
