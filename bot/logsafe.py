"""Logging that keeps personal data out: tracebacks without exception messages.

Exception messages can carry what a person wrote or is called (a database
error repeats the failing row, for instance); the type and the code location
are what an operator needs to find the fault.
"""

from __future__ import annotations

import logging
import traceback
from types import TracebackType

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class PrivateFormatter(logging.Formatter):
    def formatException(self, ei: ExcInfo) -> str:
        _kind, error, tb = ei
        lines: list[str] = []
        chain: list[BaseException] = []
        current: BaseException | None = error
        while current is not None and current not in chain:
            chain.append(current)
            current = current.__cause__ or current.__context__
        for number, item in enumerate(reversed(chain)):
            if number:
                lines.append("which led to:")
            lines.append("Traceback (most recent call last):")
            frames = traceback.extract_tb(item.__traceback__ if item is not error else tb)
            lines += [f'  File "{f.filename}", line {f.lineno}, in {f.name}' for f in frames]
            lines.append(f"{type(item).__module__}.{type(item).__qualname__} (message withheld)")
        return "\n".join(lines)


def configure(level: int) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(PrivateFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
