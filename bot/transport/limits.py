"""Telegram's size limits, and the one way a text is made to fit them.

Telegram refuses a message over 4 096 characters, a caption over 1 024, a button
press answer over 200 and button data over 64 bytes; it counts characters in UTF-16
code units (an emoji outside the basic plane counts two). Every reply
(bot/transport/replies.py) and every outbox message (bot/presentation/render.py)
passes through ``fit`` or ``split`` here, so an echoed value, a long list or a
translation that grew can never make Telegram refuse what the bot says.

A cut is made only between grapheme clusters (so a letter never loses its accent, an
emoji sequence or a flag is never halved and no surrogate pair is split), preferably
at a line break or a space, and never leaves a directional isolate (FSI … PDI, which
bot/i18n.py puts around values in mixed-direction text) open: the isolate is closed
where the text is cut, and a split reopens it in the next part.
"""

from __future__ import annotations

from collections.abc import Iterable

import regex

# Telegram's limits (Bot API: sendMessage, captions, answerCallbackQuery, buttons).
TEXT = 4096
CAPTION = 1024
CALLBACK_ANSWER = 200
CALLBACK_DATA_BYTES = 64

ELLIPSIS = "…"
# Directional isolates: LRI, RLI and FSI open one, PDI closes the innermost.
_OPENERS = frozenset("\u2066\u2067\u2068")
PDI = "\u2069"
_GRAPHEME = regex.compile(r"\X", regex.DOTALL)
# A cut at a line break or a space is preferred if it keeps at least this share.
_NICE_CUT_SHARE = 0.8


def units(text: str) -> int:
    """The length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def fits(text: str | None, limit: int) -> bool:
    return text is None or units(text) <= limit


def fit(text: str, limit: int = TEXT, *, ellipsis: str = ELLIPSIS) -> str:
    """``text`` if it fits, else its longest safe beginning that fits with ``ellipsis``."""
    if len(text) <= limit and units(text) <= limit:
        return text
    head, opened = _cut(text, limit - units(ellipsis), prefer_breaks=True)
    return head.rstrip(" \n") + PDI * len(opened) + ellipsis


def split(text: str, limit: int = TEXT) -> list[str]:
    """``text`` in parts of at most ``limit`` units, cut at line breaks where possible;
    an isolate cut across parts is closed at the end of one and reopened in the next.
    Joined, the parts give back the text (less the whitespace at the cuts and the marks
    added to close and reopen isolates)."""
    parts: list[str] = []
    reopen = ""
    rest = text
    while rest.strip(" \n"):
        whole = reopen + rest
        if len(whole) <= limit and units(whole) <= limit:
            parts.append(whole)
            break
        head, opened = _cut(whole, limit, prefer_breaks=True)
        if len(head) <= len(reopen):
            reopen, opened = "", []  # too deep to reopen: go on without the isolates
            head, opened = _cut(rest, limit, prefer_breaks=True)
            whole = rest
        consumed = len(head) - (len(whole) - len(rest))
        rest = rest[consumed:].lstrip(" \n")
        parts.append(head.rstrip(" \n") + PDI * len(opened))
        reopen = "".join(opened)
    return [part for part in parts if part.strip(" \n")]


def _cut(text: str, budget: int, *, prefer_breaks: bool) -> tuple[str, list[str]]:
    """The longest non-empty beginning of ``text`` made of whole grapheme clusters that
    fits in ``budget`` units together with the PDIs that close what it leaves open; and
    the isolates it leaves open (outermost first).

    Only a single cluster longer than the whole budget (a letter under thousands of
    combining marks) is cut inside, between code points, as nothing else can fit."""
    used = 0
    opened: list[str] = []
    best_end, best_opened = 0, []
    nice_end, nice_opened = 0, []
    for match in _GRAPHEME.finditer(text):
        cluster = match.group()
        after = list(opened)
        for char in cluster:
            if char in _OPENERS:
                after.append(char)
            elif char == PDI and after:
                after.pop()
        cost = units(cluster)
        if used + cost + len(after) > budget:
            if best_end == 0:
                return _inside(cluster, budget), []
            break
        used += cost
        opened = after
        best_end, best_opened = match.end(), list(opened)
        if cluster.endswith(("\n", " ")):
            nice_end, nice_opened = best_end, list(opened)
    if prefer_breaks and nice_end and nice_end >= _NICE_CUT_SHARE * best_end:
        return text[:nice_end], nice_opened
    return text[:best_end], best_opened


def _inside(cluster: str, budget: int) -> str:
    kept = ""
    for char in cluster:
        if char in _OPENERS or char == PDI or units(kept + char) > budget:
            break
        kept += char
    return kept or cluster[:1]


def balanced(text: str) -> bool:
    """No isolate is left open and none is closed that was not opened."""
    depth = 0
    for char in text:
        if char in _OPENERS:
            depth += 1
        elif char == PDI:
            if depth == 0:
                return False
            depth -= 1
    return depth == 0


def graphemes(text: str) -> Iterable[str]:
    return _GRAPHEME.findall(text)
