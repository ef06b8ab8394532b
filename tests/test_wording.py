"""Wording readers notice: plural-aware numbers, the same name for one thing, quotes and
terms usual in each language, the job centre's 24-hour clock, and yes/no in any language."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from babel.messages.pofile import read_po

from bot.i18n import FSI, LANGUAGES, PDI, translator
from bot.models import OutboxMessage
from bot.presentation.render import render
from bot.services.centres import org_settings
from bot.services.people.enrolments import ENDED_NOTICE
from tests.test_catalogs import LOCALES


def _msgstrs(language: str) -> dict[str, object]:
    with (LOCALES / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return {(m.id if isinstance(m.id, str) else m.id[0]): m.string
                for m in read_po(handle, locale=language) if m.id}


def _ended(days: int, language: str) -> str:
    singular, plural = ENDED_NOTICE
    message = OutboxMessage(kind="notice", template=singular,
                            params={"centre": "Jobbtorg Kista", "days": days,
                                    "_plural": {"msgid": plural, "count": "days"}})
    return render(message, translator(language)).text


@pytest.mark.parametrize(("language", "days", "expected"), [
    ("ar", 30, f"{FSI}30{PDI} يومًا"), ("ar", 100, f"{FSI}100{PDI} يوم؛"),
    ("ar", 365, f"{FSI}365{PDI} يومًا"), ("ar", 3, f"{FSI}3{PDI} أيام"),
    ("en", 30, "after 30 days;"), ("sv", 365, "efter 365 dagar;"),
])
def test_the_end_of_enrolment_notice_counts_days_in_each_languages_grammar(language, days,
                                                                           expected):
    text = _ended(days, language)
    assert expected in text
    assert "من الأيام" not in text


def test_arabic_says_job_centre_and_uses_its_own_quotes():
    strings = [s for value in _msgstrs("ar").values()
               for s in ([value] if isinstance(value, str) else value)]
    assert not any("مركز العمل" in s or "مراكز العمل" in s for s in strings)
    assert not any("“" in s or "”" in s or '"' in s for s in strings)
    assert sum("مركز التوظيف" in s for s in strings) > 20
    # A button is something to do: the coach accepts (or rejects) the excuse.
    assert _msgstrs("ar")["Valid"] == "قبول العذر"
    assert _msgstrs("ar")["Not valid"] == "رفض العذر"
    # Addressed without a masculine form where a neutral one exists.
    assert _msgstrs("ar")["You are already registered."] == "سبق أن سجّلت."


def test_persian_deepened_plan_is_not_a_supplementary_one():
    strings = [s for s in _msgstrs("fa").values() if isinstance(s, str)]
    assert not any("تکمیلی" in s for s in strings)
    assert _msgstrs("fa")["deepened job plan"] == "برنامه شغلی تفصیلی"


def test_somali_has_one_name_for_check_in():
    strings = [s for s in _msgstrs("so").values() if isinstance(s, str)]
    assert _msgstrs("so")["Check in"] == "Sheeg imaanshaha"
    assert not any("Waan imid" in s or "inaad timid" in s for s in strings)


def test_swedish_button_and_setting_words():
    sv = _msgstrs("sv")
    assert sv["Present"] == "Närvarande"
    assert sv["Alert sent again"] == "Varningen skickas igen"
    assert sv["Answer yes or no."] == "Svara ja eller nej."


@pytest.mark.parametrize("word", ["ja", "Ja", "yes", "نعم", "بله", "haa", "እወ"])
def test_yes_is_understood_in_every_language(db, clock, word):
    assert org_settings.set_value(db, clock.now(), org_settings.RECORD_GENDER_AND_AGE, word,
                                  actor=None) is True


@pytest.mark.parametrize("word", ["nej", "no", "لا", "نه", "maya"])
def test_no_is_understood_in_every_language(db, clock, word):
    assert org_settings.set_value(db, clock.now(), org_settings.RECORD_GENDER_AND_AGE, word,
                                  actor=None) is False


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_every_language_shows_the_24_hour_clock(language):
    t = translator(language)
    assert t.time(time(14, 5)) == "14:05"
    assert t.time(datetime(2025, 11, 27, 13, 5, tzinfo=t.zone)) == "13:05"


@pytest.mark.parametrize(("language", "full", "short"), [
    ("sv", "torsdag 27 november 2025", "tors 27 nov."),
    ("en", "Thursday, 27 November 2025", "Thu 27 Nov"),
    ("ar", "الخميس، 27 نوفمبر 2025", "الخميس، 27 نوفمبر"),
    ("so", "Khamiis, Noofeembar 27, 2025", "Khms, Nof 27"),
    ("fa", "پنجشنبه 27 نوامبر 2025", "پنجشنبه 27 نوامبر"),
    ("ti", "ሓሙስ፣ 27 ሕዳር 2025", "ሓሙ፣ 27 ሕዳ"),
])
def test_dates_per_language_as_the_readme_shows(language, full, short):
    t = translator(language)
    assert t.date(date(2025, 11, 27)) == full
    assert t.short_date(date(2025, 11, 27)) == short


@pytest.mark.parametrize("language", ["ar", "fa"])
def test_commands_in_right_to_left_texts_keep_their_slash_in_front(language):
    import re

    from bot.i18n import LRI

    t = translator(language)
    with_commands = [msgid for msgid, text in _msgstrs(language).items()
                     if isinstance(text, str) and re.search(r"(^|\s)/[a-z]+", text)]
    assert len(with_commands) >= 13
    for msgid in with_commands:
        names = {key: "x" for key in re.findall(r"\{(\w+)\}", msgid)}
        rendered = t._(msgid, **names)
        # Each command sits in a left-to-right isolate, after a space Telegram needs.
        assert not re.search(rf"(?<!{LRI} )/[a-z]+", rendered), (msgid, rendered)
        assert re.search(rf"{LRI} /[a-z]+{PDI}", rendered), msgid
