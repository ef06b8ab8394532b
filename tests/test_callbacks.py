"""The typed callback codec (bot/presentation/callbacks.py): every kind of button data
survives a round trip, and anything a client could forge decodes to None."""

from __future__ import annotations

import enum
import itertools
import typing
from dataclasses import dataclass, fields
from datetime import date
from typing import Any, Literal

import pytest
from telegram import InlineKeyboardButton
from telegram.ext import CallbackQueryHandler

from bot.emulator import ApiCall
from bot.presentation import callbacks as cb
from tests.harness import untyped_buttons

KINDS = sorted(cb.registered().values(), key=lambda kind: kind.tag)


def _samples(hint: Any) -> list[Any]:
    """Values of one field, the extremes included (the widest decides the length)."""
    if hint == cb.Token:
        return ["a", "no_show_2", "x" * 16]
    if hint is bool:
        return [True, False]
    if hint is int:
        return [0, 7, cb.MAX_ID]
    if hint is date:
        return [date(2024, 2, 29), date(2026, 12, 31)]
    if typing.get_origin(hint) is Literal:
        return list(typing.get_args(hint))
    if isinstance(hint, type) and issubclass(hint, enum.StrEnum):
        return list(hint)
    raise AssertionError(f"no samples for {hint!r}: add them here")


def _instances(kind: type[cb.Callback]) -> list[cb.Callback]:
    hints = typing.get_type_hints(kind, include_extras=True)
    choices = [_samples(hints[f.name]) for f in fields(kind)]  # type: ignore[arg-type]
    return [kind(*values) for values in itertools.product(*choices)]


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kinds defined in a test are forgotten after it."""
    monkeypatch.setattr(cb, "_BY_TAG", dict(cb._BY_TAG))


# --- round trips ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.tag)
def test_every_kind_round_trips_and_no_other_kind_claims_its_data(kind):
    for pressed in _instances(kind):
        data = pressed.encode()
        assert data.isascii() and len(data.encode()) <= cb.MAX_BYTES
        assert data == str(pressed)
        assert kind.decode(data) == pressed
        assert kind.matches(data)
        # parse over every kind finds this one: no two kinds read the same data.
        decoded = cb.parse(data)
        assert type(decoded) is kind and decoded == pressed


def test_decoded_fields_have_their_declared_types():
    assert cb.parse("cl:q:12:20240229") == cb.ChooseAttendanceStatus(12, date(2024, 2, 29))
    assert cb.parse("cl:r:12:0") == cb.SetRequirement(12, False)
    rule_event = cb.parse("ar:k:check_in")
    assert isinstance(rule_event, cb.RuleEvent) and type(rule_event.kind) is not str
    assert cb.parse("ad:e:cname:4") == cb.AdminEdit("cname", 4)
    assert cb.parse("ap:s:aploc:4:alt") == cb.PolicyChoice("aploc", 4, "alt")


def test_buttons_already_in_chats_keep_their_format():
    # Buttons sent before the typed module existed are still read the same way.
    assert cb.AdminToggle("cdrm", 31).encode() == "ad:t:cdrm:31"
    assert cb.AdminEdit("cnew", 0).encode() == "ad:e:cnew:0"
    assert cb.AdminMenu().encode() == "ad"
    assert cb.PolicyChoice("qwk", 3, "1").encode() == "ap:s:qwk:3:1"
    assert cb.EditRule("o", 9).encode() == "ar:e:o:9"
    assert cb.RuleFixTexts().encode() == "ar:ft"
    assert cb.RuleAudience(cb.Audience.TEAM_LEAD).encode() == "ar:a:team_lead"
    assert cb.BookingNoShow(5).encode() == "sa:n:5"
    assert cb.SessionAbort().encode() == "sa:no"
    assert cb.NewSession().encode() == "sa:new"


def test_a_kind_and_the_kinds_sharing_its_prefix_stay_apart():
    assert cb.parse("sa:n:5") == cb.BookingNoShow(5)
    assert cb.parse("sa:no") == cb.SessionAbort()
    assert cb.parse("sa:nc:5") == cb.NewSessionAt(5)
    assert cb.parse("ad:c:5") == cb.AdminCentre(5)
    assert cb.parse("ad:cl") == cb.AdminCentres()
    assert cb.parse("ad:cd:5") == cb.AdminClosedDays(5)
    assert cb.AdminMenu.decode("ad:cl") is None
    assert cb.AdminCentre.decode("ad:cd:5") is None


# --- what is refused -----------------------------------------------------------------------
@pytest.mark.parametrize("data", [
    "cl:d:99999999999999999999",  # 20 digits: past any database integer
    "cl:d:2147483648",  # one past PostgreSQL's INTEGER
    "cl:d:007", "cl:d:00",  # leading zeros: not the canonical form
    "cl:d:²", "cl:d:1²",  # superscript: isdigit() but not a number
    "cl:d:٣", "cl:d:۳", "cl:d:５", "cl:d:३",  # Arabic-Indic, Persian, fullwidth, Devanagari
    "cl:d:-1", "cl:d:+1", "cl:d: 1", "cl:d:1 ", "cl:d:1.0", "cl:d:0x1", "cl:d:1_000",
    "cl:d:",
    "ad:t:rv:99999999999999999999", "sa:y:2147483648", "ar:r:²", "ap:c:007",
])
def test_ids_that_are_not_plain_numbers_in_range_are_refused(data):
    assert cb.parse(data) is None


def test_the_integer_range_ends_exactly_at_the_database_limit():
    assert cb.parse("cl:d:2147483647") == cb.CaseloadDetail(2**31 - 1)
    assert cb.parse("cl:d:0") == cb.CaseloadDetail(0)


@pytest.mark.parametrize("data", [
    "cl:q:5:20260231",  # 31 February
    "cl:q:5:20250229",  # not a leap year
    "cl:q:5:20261301", "cl:q:5:20260100", "cl:q:5:00000101",
    "cl:q:5:2026021", "cl:q:5:202602011", "cl:q:5:2026-02-01", "cl:q:5:2026021²",
    "ab:d:20260231", "cl:m:5:20260230:p",
])
def test_dates_that_do_not_exist_are_refused(data):
    assert cb.parse(data) is None


@pytest.mark.parametrize("data", [
    "stop:maybe", "stop:Y", "lg:de", "lg:EN", "cl:s:5:week", "cl:m:5:20260105:x",
    "ad:t:drop:5", "ar:e:z:5", "ar:k:birthday", "ar:a:TEAM_LEAD", "ar:a:admin",
    "iv:r:superuser", "ar:g:xx", "sa:lg:de",
    "cl:r:5:2", "cl:r:5:true",  # booleans are 1 or 0
    "ad:e:CNAME:5", "ad:e:c-name:5", "ad:e:c name:5", "ad:e::5",  # tokens: [a-z0-9_]
    "ad:e:" + "x" * 17 + ":5",  # a token is at most 16 characters
    "zz:1", "", ":", "cl", "CL:D:5",
])
def test_unknown_words_are_refused(data):
    assert cb.parse(data) is None


@pytest.mark.parametrize("data", [
    "cl:d", "cl:d:5:6", "cl:m:5:20260105", "cl:m:5:20260105:p:1", "ad:e:cname",
    "ad:ok:1", "sa:new:", "sa:new:1", "cl:d:5:", "ad:", "ap:s:aploc:4",
])
def test_wrong_field_counts_are_refused(data):
    assert cb.parse(data) is None


@pytest.mark.parametrize("data", [None, 5, b"cl:d:5", ["cl:d:5"]])
def test_data_that_is_not_text_is_refused(data):
    assert cb.parse(data) is None
    assert not cb.CaseloadDetail.matches(data)


def test_parse_looks_only_at_the_kinds_it_is_given():
    assert cb.parse("cl:d:5", cb.CaseloadPage, cb.CaseloadDetail) == cb.CaseloadDetail(5)
    assert cb.parse("cl:d:5", cb.CaseloadPage, cb.ExitView) is None
    assert cb.any_of(cb.AdminSave, cb.AdminCancel)("ad:no")
    assert not cb.any_of(cb.AdminSave, cb.AdminCancel)("ar:no")


# --- Telegram's 64 bytes --------------------------------------------------------------------
def test_data_over_64_bytes_is_refused_and_never_built(scratch_registry):
    @dataclass(frozen=True)
    class Wide(cb.Callback, tag="zz:wide"):
        a: cb.Token
        b: cb.Token
        c: cb.Token
        d: cb.Token

    fits = Wide("a" * 16, "b" * 16, "c" * 16, "d" * 5)
    assert len(fits.encode()) == 64
    assert Wide.decode(fits.encode()) == fits
    too_wide = Wide("a" * 16, "b" * 16, "c" * 16, "d" * 6)
    with pytest.raises(ValueError, match="64 bytes"):
        too_wide.encode()
    with pytest.raises(ValueError, match="64 bytes"):
        InlineKeyboardButton("Wide", callback_data=too_wide.encode())
    assert Wide.decode("zz:wide:" + "a" * 16 + ":" + "b" * 16 + ":" + "c" * 16 + ":dddddd") \
        is None


@pytest.mark.parametrize("build", [
    lambda: cb.CaseloadDetail(-1), lambda: cb.CaseloadDetail(2**31),
    lambda: cb.CaseloadDetail(True), lambda: cb.CaseloadDetail("5"),  # type: ignore[arg-type]
    lambda: cb.AdminEdit("Bad key", 1), lambda: cb.AdminEdit("x" * 17, 1),
    lambda: cb.ConfirmStop("maybe"),  # type: ignore[arg-type]
    lambda: cb.AdminToggle("drop", 1),  # type: ignore[arg-type]
])
def test_a_button_with_values_its_kind_cannot_carry_is_not_built(build):
    with pytest.raises(ValueError):
        build().encode()


def test_kinds_are_declared_soundly(scratch_registry):
    with pytest.raises(ValueError, match="used twice"):
        @dataclass(frozen=True)
        class Again(cb.Callback, tag="cl:d"):
            enrolment: int

    with pytest.raises(ValueError, match="bad callback tag"):
        @dataclass(frozen=True)
        class Spaced(cb.Callback, tag="zz z"):
            pass

    @dataclass(frozen=True)
    class Optional(cb.Callback, tag="zz:opt"):
        enrolment: int | None

    with pytest.raises(TypeError, match="separate button kind"):
        Optional(None).encode()


# --- every button the bot sends is typed ------------------------------------------------------
def _call(method: str, *buttons: dict[str, str]) -> ApiCall:
    return ApiCall(method, {"chat_id": 1, "reply_markup": {"inline_keyboard": [list(buttons)]}},
                   {})


def test_the_harness_finds_buttons_not_built_by_the_typed_module():
    calls = [
        _call("sendMessage", {"text": "Back", "callback_data": "cl:d:5"},
              {"text": "Site", "url": "https://example.org"}),
        _call("editMessageText", {"text": "Old", "callback_data": "cl:detail:5"}),
        _call("editMessageReplyMarkup", {"text": "Huge", "callback_data": "cl:d:99999999999"}),
        ApiCall("sendMessage", {"chat_id": 1, "text": "no buttons"}, {}),
    ]
    assert untyped_buttons(calls) == [("editMessageText", "cl:detail:5"),
                                      ("editMessageReplyMarkup", "cl:d:99999999999")]


async def test_every_kind_has_a_handler_before_the_catch_all(harness):
    """A kind nobody handles would be answered as a stale button forever."""
    patterns = [handler.pattern for group in harness.app.handlers.values() for handler in group
                if isinstance(handler, CallbackQueryHandler) and handler.pattern is not None]
    orphans = [kind.tag for kind in KINDS
               if not any(callable(pattern) and pattern(_instances(kind)[0].encode())
                          for pattern in patterns)]
    assert orphans == []
