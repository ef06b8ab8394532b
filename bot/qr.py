"""QR codes for invite links and check-in codes."""

from __future__ import annotations

import io

import segno


def qr_png(content: str, *, scale: int = 8) -> bytes:
    buffer = io.BytesIO()
    segno.make(content, error="m").save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()
