"""A python-telegram-bot request object answered by the emulator in process (no network)."""

from __future__ import annotations

import json
from typing import Any

from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

from bot.emulator.core import BotApiEmulator, EmulatedTimeout


class EmulatorRequest(BaseRequest):
    def __init__(self, emulator: BotApiEmulator) -> None:
        self.emulator = emulator

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        files = {}
        if request_data is not None and request_data.contains_files:
            for name, field in request_data.multipart_data.items():
                filename, content, mime = (*tuple(field), None)[:3]
                if hasattr(content, "read"):
                    content = content.read()
                files[name] = (filename or name, content, mime or "application/octet-stream")
        try:
            status, body = self.emulator.call(api_method, params, files)
        except EmulatedTimeout:
            raise TimedOut("emulated timeout") from None
        return status, json.dumps(body).encode()
