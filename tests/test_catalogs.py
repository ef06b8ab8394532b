"""Every message exists in every language, with the same placeholders and right plurals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LANGUAGES, PLACEHOLDER, Translator
from locales.update_catalogs import KEYWORDS

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"


def _catalog(language: str):
    with (LOCALES / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=language)


def _template():
    with (LOCALES / "messages.pot").open("rb") as handle:
        return read_po(handle)


def test_template_is_up_to_date(tmp_path):
    """locales/messages.pot holds every string the code marks for translation."""
    fresh = tmp_path / "fresh.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         *KEYWORDS, "--no-location", "--sort-output", "--omit-header", "-o", str(fresh), "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    with fresh.open("rb") as handle:
        extracted = {m.id for m in read_po(handle) if m.id}
    committed = {m.id for m in _template() if m.id}
    assert extracted - committed == set(), "run the extract command in README (Translations)"
    assert committed - extracted == set(), "the template has strings the code no longer uses"


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_catalog_is_complete(language):
    catalog = _catalog(language)
    template_ids = {m.id for m in _template() if m.id}
    messages = {m.id: m for m in catalog if m.id}
    assert set(messages) >= template_ids, f"missing: {sorted(template_ids - set(messages))[:5]}"
    untranslated = [m.id for m in messages.values()
                    if not (all(m.string) if isinstance(m.string, tuple | list) else m.string)]
    fuzzy = [m.id for m in messages.values() if m.fuzzy]
    assert untranslated == []
    assert fuzzy == []


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_placeholders_match_the_source(language):
    for message in _catalog(language):
        if not message.id:
            continue
        sources = message.id if isinstance(message.id, tuple | list) else (message.id,)
        expected = set().union(*(set(PLACEHOLDER.findall(s)) for s in sources)) - {"count"}
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        for string in strings:
            found = set(PLACEHOLDER.findall(string)) - {"count"}
            assert found == expected, f"{language}: {message.id!r} -> {string!r}"


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_plural_forms_have_every_form(language):
    catalog = _catalog(language)
    for message in catalog:
        if message.id and isinstance(message.id, tuple | list):
            assert len(message.string) == catalog.num_plurals, (language, message.id)


def test_arabic_has_six_plural_forms_chosen_right():
    """0, 1, 2, 3–10, 11–99 and 100+ each take their own form (Babel's default rule is wrong
    for 100–102, so the catalog sets the standard one)."""
    catalog = _catalog("ar")
    assert catalog.num_plurals == 6
    plurals = [m for m in catalog if m.id and isinstance(m.id, tuple | list)]
    assert plurals, "the catalog should have at least one plural message"
    singular, plural = plurals[0].id
    t = Translator("ar")
    chosen = [t._gnu.ngettext(singular, plural, n) for n in (0, 1, 2, 3, 11, 100)]
    assert chosen == list(plurals[0].string)
