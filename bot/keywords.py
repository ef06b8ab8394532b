"""Words people type instead of pressing a button ("yes", "ja", "نعم", "cancel",
"avbryt"…), recognised in every supported language whatever the reader's own is: a
Swedish admin who answers "ja", or an aspirant who writes "cancel" in English while
the bot speaks Arabic to them, is understood.

The words are the catalogs' own translations of the button labels, so they stay in
step with what the buttons say.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from bot.i18n import LANGUAGES, N_, translator

YES = (N_("yes"), N_("Yes"))
NO = (N_("no"), N_("No"))
CANCEL = (N_("Cancel"),)
# Short forms people type that are no button's label.
_EXTRA = {
    "yes": {"y", "ja", "j", "ok", "okay", "true", "on", "1"},
    "no": {"n", "nej", "false", "off", "0"},
    "cancel": {"avbryt"},
}
_NOT_WORD = re.compile(r"[^\w\s]", re.UNICODE)


def normal(text: str) -> str:
    """Case, accents, emoji and punctuation do not matter: "✖ Avbryt!" is "avbryt"."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _NOT_WORD.sub(" ", text)
    return " ".join(text.split())


@cache
def _words(name: str) -> frozenset[str]:
    msgids = {"yes": YES, "no": NO, "cancel": CANCEL}[name]
    found = {normal(msgid) for msgid in msgids} | _EXTRA[name]
    for language in LANGUAGES:
        t = translator(language)
        found |= {normal(t._(msgid)) for msgid in msgids}
    return frozenset(word for word in found if word)


def is_yes(text: str) -> bool:
    return normal(text) in _words("yes")


def is_no(text: str) -> bool:
    return normal(text) in _words("no")


def is_cancel(text: str) -> bool:
    return normal(text) in _words("cancel")
