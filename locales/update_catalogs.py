"""Refresh the translation catalogs from the code (a developer tool, not used at run time).

    .venv/bin/python locales/update_catalogs.py

Extracts every marked string into messages.pot, merges it into each language's
messages.po (new strings arrive untranslated, so the catalog test points at them),
fills the English catalog from the source strings, and sets the standard Arabic
plural rule (Babel's default misplaces 100-102).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LANGUAGES = ("sv", "en", "ar", "so", "fa", "ti")
ARABIC_PLURALS = ("nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : "
                  "n%100>=3 && n%100<=10 ? 3 : n%100>=11 ? 4 : 5);")
KEYWORDS = ["-k", "_", "-k", "N_", "-k", "gettext", "-k", "ngettext:1,2", "-k", "N_plural:1,2"]


def pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], cwd=ROOT, check=True)


def main() -> None:
    pot = HERE / "messages.pot"
    pybabel("extract", "-F", "babel.cfg", *KEYWORDS, "--no-location", "--sort-output",
            "--omit-header", "-o", str(pot), ".")
    for language in LANGUAGES:
        po = HERE / language / "LC_MESSAGES" / "messages.po"
        if po.exists():
            pybabel("update", "-i", str(pot), "-d", str(HERE), "-D", "messages", "-l", language,
                    "--no-fuzzy-matching", "--ignore-obsolete", "--omit-header")
        else:
            pybabel("init", "-i", str(pot), "-d", str(HERE), "-D", "messages", "-l", language)
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        if language == "en":
            for message in catalog:
                if message.id:
                    message.string = message.id
                    message.flags.discard("fuzzy")
        if language == "ar":
            catalog._num_plurals, catalog._plural_expr = 6, ARABIC_PLURALS.split("plural=")[1][:-1]
        catalog.fuzzy = False
        with po.open("wb") as handle:
            write_po(handle, catalog, width=0, omit_header=False, no_location=True,
                     sort_output=True, ignore_obsolete=True)


if __name__ == "__main__":
    main()
