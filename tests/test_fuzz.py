"""A fuzz suite of our own (Hypothesis): the callback parser, the text limits, and random
updates of every shape through the emulated Bot API, on SQLite and PostgreSQL.

The number of random update sequences is bounded here (``JOBBOT_FUZZ_EXAMPLES``, 25 by
default) so the suite stays quick; ``bench/fuzz_updates.py`` runs thousands.
"""

from __future__ import annotations

import os

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.presentation import callbacks
from bot.transport import limits
from tests.fuzz_support import BUTTON_DATA, TEXTS, fuzz_bot, property_for

EXAMPLES = int(os.environ.get("JOBBOT_FUZZ_EXAMPLES", "25"))


# --- the callback parser ---------------------------------------------------------------------
@settings(max_examples=400, deadline=None, database=None)
@given(st.one_of(BUTTON_DATA, st.binary(max_size=70).map(lambda b: b.decode("latin-1"))))
def test_button_data_decodes_to_its_canonical_form_or_to_nothing(data):
    decoded = callbacks.parse(data)
    if decoded is not None:
        # Whatever is accepted is exactly what the bot itself would have built.
        assert decoded.encode() == data
        assert len(data.encode()) <= limits.CALLBACK_DATA_BYTES


# Button kinds whose data is one id (a token such as an absence reason may be all digits).
_ONE_ID = sorted(tag for tag, kind in callbacks._BY_TAG.items()
                 if [codec for _, codec in kind._fields()] == [callbacks._INT])


@settings(max_examples=200, deadline=None, database=None)
@given(st.sampled_from(_ONE_ID), st.integers(min_value=-(10**30), max_value=10**30))
# Just past the integer range of the database.
@example("aw", 2**31)
def test_ids_outside_the_databases_range_never_decode(tag, number):
    kind = callbacks._BY_TAG[tag]
    decoded = kind.decode(f"{tag}:{number}")
    if decoded is not None:
        assert 0 <= number <= callbacks.MAX_ID


# --- the limits -----------------------------------------------------------------------------
_ANY_TEXT = st.one_of(TEXTS, st.text(max_size=5000))


@settings(max_examples=300, deadline=None, database=None)
@given(_ANY_TEXT, st.sampled_from([limits.TEXT, limits.CAPTION, limits.CALLBACK_ANSWER, 17]))
# One cluster of 513 code points but 1 025 UTF-16 units: longer than a caption although
# fewer code points (found by this test in CI).
@example("0" + "\U0001F3FB" * 512, limits.CAPTION)
def test_fit_keeps_a_safe_beginning_within_the_limit(text, limit):
    fitted = limits.fit(text, limit)
    assert limits.units(fitted) <= limit
    if limits.units(text) <= limit:
        assert fitted == text
    else:
        assert fitted.endswith(limits.ELLIPSIS)
        kept = fitted.removesuffix(limits.ELLIPSIS).rstrip(limits.PDI)
        assert text.startswith(kept.rstrip(" \n")) or text.startswith(kept)
        if limits.balanced(text):
            assert limits.balanced(fitted)
        # Cut between grapheme clusters: the kept part is whole clusters of the text.
        clusters = list(limits.graphemes(text))
        whole = "".join(clusters[:len(list(limits.graphemes(kept)))])
        # ...unless the first cluster alone (with the marks closing the isolates it
        # opens) cannot fit beside the ellipsis: only then is it cut inside.
        first = clusters[0]
        too_long = (limits.units(first) + sum(char in "\u2066\u2067\u2068" for char in first)
                    > limit - limits.units(limits.ELLIPSIS))
        assert whole == kept or too_long


@settings(max_examples=300, deadline=None, database=None)
@given(_ANY_TEXT, st.sampled_from([limits.TEXT, 100, 17]))
def test_split_parts_fit_and_keep_isolates_balanced(text, limit):
    parts = limits.split(text, limit)
    assert all(limits.units(part) <= limit for part in parts)
    if limits.balanced(text):
        assert all(limits.balanced(part) for part in parts)
    # Nothing is lost but the whitespace at the cuts and the isolates' closing marks.
    def bare(value):
        return "".join(c for c in value if c not in " \n\u2066\u2067\u2068\u2069")
    assert bare("".join(parts)) == bare(text)


# --- updates of every shape, through the emulated Bot API -----------------------------------
def test_no_update_breaks_the_bot(database_url):
    with fuzz_bot(database_url) as bot:
        property_for(bot, EXAMPLES)()
        assert sum(bot.stats.values()) >= EXAMPLES
