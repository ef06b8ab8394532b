"""Random updates, as outsiders and users could send them, through the emulated Bot API.

One bot (the real Application, against the emulator) with a job centre, a coach, an admin,
an enrolled aspirant and strangers; Hypothesis draws sequences of actions — text (right to
left, zero-width, combining marks, 10 000 characters), commands with odd arguments, forged
and real button presses, locations live or not, edited messages, photos and stickers
without text, group and channel posts, inline queries, presses on inline-mode messages,
the bot blocked and unblocked, time passing — and after every sequence checks that:

* no exception escaped a handler, and the bot's log holds no error and no traceback;
* Telegram would have taken every call (no text, caption or answer over its limit, no
  bad button data — the emulator refuses those as Telegram does);
* someone who just wants an answer still gets one.

Used by tests/test_fuzz.py (a bounded number of examples, on SQLite and PostgreSQL) and
bench/fuzz_updates.py (a long run).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clock import ManualClock
from bot.db import make_engine, make_session_factory, unit_of_work
from bot.models import Role
from bot.presentation import callbacks
from bot.runtime import Runtime
from bot.services.attendance import policy as attendance_policy
from tests import factories
from tests.attendance_support import enrol
from tests.harness import BotHarness, start_harness

STOCKHOLM = ZoneInfo("Europe/Stockholm")
START = datetime(2026, 3, 2, 9, 0, tzinfo=STOCKHOLM)  # a Monday, in the check-in window
KISTA = (59.4032, 17.9448)
PERSONAS = ("stranger", "aspirant", "coach", "admin", "newcomer")
ANSWERING = frozenset({"sendMessage", "editMessageText", "sendPhoto", "sendDocument",
                       "sendLocation", "sendVenue"})

# --- texts ---------------------------------------------------------------------------------
_ODD = ("\u200b\u200c\u200d\u200e\u200f\u2066\u2067\u2068\u2069\u202a\u202b\u202c\u202d\u202e"
        "\ufeff\u0301\u0308\u064b\u0651\ufe0f\U0001f3fb\u00a0\u2028\u2029\r\t\x00\x1b")
_SCRIPTS = ("مرحبا بكم في مركز العمل سلام خوش آمدید ሰላም ናብ ማእከል ስራሕ Soo dhawoow Välkommen "
            "١٢٣٤٥٦ ۱۲۳۴۵۶ ²³¹ 👩‍👩‍👧 🇸🇪 e\u0301 ﷽ 𝟙𝟚𝟛")
_letters = st.text(alphabet=st.sampled_from(_ODD + _SCRIPTS + "abc 0123456789:-_/\n"),
                   max_size=40)
_long = st.builds(lambda chunk, n: (chunk or "x") * n, _letters,
                  st.sampled_from([300, 1001, 4096, 10_000]))
_COMMANDS = ("/start", "/help", "/mydata", "/stop", "/language", "/checkin", "/absence",
             "/caseload", "/admin", "/invite", "/sessions", "/plan", "/report", "/schedule",
             "/unknown")
_MENU = ("📅 My schedule", "✅ Check in", "🤒 Report absence", "📋 My plan", "🌐 Language",
         "❓ Help", "🔒 My data", "⛔ Stop", "✖ Cancel", "Cancel", "-", "—")
_command = st.builds(lambda c, arg: f"{c} {arg}".rstrip(), st.sampled_from(_COMMANDS),
                     st.one_of(st.just(""), _letters, st.sampled_from(
                         ["ci_1_123456", "ci_99999999999999999999_1", "../../etc",
                          "a" * 64, "ci_²_12"])))
TEXTS = st.one_of(_letters, _long, _command, st.sampled_from(_MENU),
                  st.from_regex(r"[0-9]{6}", fullmatch=True),
                  st.sampled_from(["2026-03-10 09:00-11:00", "2026-02-31 09:00", "59.4, 17.9",
                                   "nan, inf", "12345", "99999999999999999999", "Europe/Nowhere",
                                   "08:30-10:00", "1990"]))


def _ids() -> st.SearchStrategy[str]:
    return st.one_of(st.integers(0, 40).map(str), st.just("99999999999999999999"),
                     st.just("²"), st.just("-1"), st.just("0x10"), st.just(""))


_TAGS = sorted(callbacks._BY_TAG)
BUTTON_DATA = st.one_of(
    st.text(max_size=70),
    st.builds(lambda tag, parts: ":".join([tag, *parts]), st.sampled_from(_TAGS),
              st.lists(st.one_of(_ids(), st.sampled_from(["y", "n", "p", "e", "u", "t", "d",
                                                          "r", "cname", "caddr", "ctz", "ret",
                                                          "20260302", "20260231", "sv", "xx"])),
                       max_size=4)),
)


# --- actions -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Action:
    kind: str
    who: str = "stranger"
    text: str = ""
    number: int = 0
    latitude: float = 0.0
    longitude: float = 0.0


_who = st.sampled_from(PERSONAS)
ACTIONS = st.one_of(
    st.builds(Action, st.just("text"), _who, TEXTS),
    st.builds(Action, st.just("text"), _who, TEXTS),
    st.builds(Action, st.just("press_shown"), _who, number=st.integers(0, 12)),
    st.builds(Action, st.just("press_shown"), _who, number=st.integers(0, 12)),
    st.builds(Action, st.just("press"), _who, BUTTON_DATA),
    st.builds(Action, st.just("location"), _who, number=st.sampled_from([0, 30, 900, 86400]),
              latitude=st.one_of(st.just(KISTA[0]), st.floats(-90, 90)),
              longitude=st.one_of(st.just(KISTA[1]), st.floats(-180, 180))),
    st.builds(Action, st.just("edit"), _who, TEXTS),
    st.builds(Action, st.just("media"), _who, st.sampled_from(
        ["photo", "sticker", "voice", "document", "contact", "venue", "dice", "audio",
         "caption"])),
    st.builds(Action, st.just("group"), _who, TEXTS),
    st.builds(Action, st.just("channel"), text=TEXTS),
    st.builds(Action, st.just("inline"), _who, TEXTS),
    st.builds(Action, st.just("inline_press"), _who, BUTTON_DATA),
    st.builds(Action, st.just("member"), _who, st.sampled_from(["kicked", "member"])),
    st.builds(Action, st.just("wait"), number=st.sampled_from([1, 10, 60, 24 * 60])),
)
SEQUENCES = st.lists(ACTIONS, min_size=1, max_size=8)


class LogWatch(logging.Handler):
    """Every warning and error the bot logs while the fuzz runs."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def problems(self) -> list[str]:
        return [f"{r.levelname} {r.name}: {r.getMessage()}"
                + (f" [{type(r.exc_info[1]).__name__}]" if r.exc_info else "")
                for r in self.records
                if r.levelno >= logging.ERROR or r.exc_info
                or "refused" in r.getMessage()]


@dataclass
class FuzzBot:
    harness: BotHarness
    loop: asyncio.AbstractEventLoop
    phones: dict[str, Any]
    logs: LogWatch
    stats: dict[str, int] = field(default_factory=dict)
    _group: int = -100_001

    def run(self, actions: list[Action]) -> None:
        """Play the actions, then check what the bot did."""
        emulator = self.harness.emulator
        first_call = len(emulator.calls)
        self.logs.records.clear()
        self.loop.run_until_complete(self._play(actions))
        calls = emulator.calls[first_call:]
        # An unchanged edit (the same button pressed twice) is reported, and harmless.
        refused = [(c.method, c.status, c.error, str(c.params.get("text", ""))[:60])
                   for c in calls if c.status not in (200, 403)
                   and "not modified" not in c.error]
        assert refused == [], f"Telegram would have refused: {refused}"
        untyped = self.harness.untyped_buttons()
        assert untyped == [], f"buttons no callback kind decodes: {untyped}"
        assert self.harness.request.calls_in_transaction == []
        assert self.logs.problems() == [], "\n".join(self.logs.problems())
        # Someone who just asks still gets an answer.
        before = len(emulator.calls)
        phone = self.phones["aspirant"]
        self.loop.run_until_complete(phone.send("/help"))
        answered = [c for c in emulator.calls[before:] if c.method in ANSWERING]
        assert answered and answered[0].status == 200, "an ordinary /help got no answer"
        for action in actions:
            self.stats[action.kind] = self.stats.get(action.kind, 0) + 1

    async def _play(self, actions: list[Action]) -> None:
        for action in actions:
            await self._act(action)

    async def _act(self, action: Action) -> None:
        harness, emulator = self.harness, self.harness.emulator
        phone = self.phones[action.who]
        uid = phone.id
        if action.kind == "text":
            await phone.send(action.text or ".")
        elif action.kind == "press_shown":
            found = [(m, b) for m in reversed(phone.bot_messages)
                     for row in m.get("reply_markup", {}).get("inline_keyboard", [])
                     for b in row]
            if found:
                message, button = found[action.number % len(found)]
                await harness.process(emulator.user_presses(uid, message["message_id"],
                                                            button["callback_data"]))
        elif action.kind == "press":
            # Forged data on one of the bot's messages (buttons only exist on those).
            if phone.bot_messages:
                await harness.process(emulator.user_presses(
                    uid, phone.bot_messages[-1]["message_id"], action.text))
        elif action.kind == "location":
            await phone.share_location(action.latitude, action.longitude,
                                       live_period=action.number or None)
        elif action.kind == "edit":
            target = self._own_message(uid)
            await harness.process(emulator.user_edits(uid, target, text=action.text or "."))
        elif action.kind == "media":
            await harness.process(emulator.user_sends(uid, **_media(action.text)))
        elif action.kind == "group":
            await harness.process(emulator.group_message(uid, self._group, text=action.text
                                                         or "."))
        elif action.kind == "channel":
            await harness.process(emulator.channel_post(-100_999, text=action.text or "."))
        elif action.kind == "inline":
            await harness.process(emulator.inline_query(uid, action.text))
        elif action.kind == "inline_press":
            await harness.process(emulator.inline_button_press(uid, action.text or "x"))
        elif action.kind == "member":
            await harness.process(emulator.membership_changes(uid, action.text))
        elif action.kind == "wait":
            harness.clock.advance(timedelta(minutes=action.number))

    def _own_message(self, uid: int) -> int:
        emulator = self.harness.emulator
        mine = [m for m in emulator.messages.get(uid, []) if not m["from"].get("is_bot")]
        if mine:
            return mine[-1]["message_id"]
        return emulator.user_sends(uid, text=".")["message"]["message_id"]


def _media(kind: str) -> dict[str, Any]:
    file = {"file_id": "AgAD", "file_unique_id": "AQAD"}
    return {
        "photo": {"photo": [{**file, "width": 90, "height": 90}]},
        "sticker": {"sticker": {**file, "width": 512, "height": 512, "is_animated": False,
                                "is_video": False, "type": "regular"}},
        "voice": {"voice": {**file, "duration": 3}},
        "document": {"document": {**file, "file_name": "cv.pdf"}},
        "contact": {"contact": {"phone_number": "+46700000000", "first_name": "Someone"}},
        "venue": {"venue": {"location": {"latitude": KISTA[0], "longitude": KISTA[1]},
                            "title": "Kista", "address": "Kistagången 2"},
                  "location": {"latitude": KISTA[0], "longitude": KISTA[1]}},
        "dice": {"dice": {"emoji": "🎲", "value": 3}},
        "audio": {"audio": {**file, "duration": 30}},
        "caption": {"photo": [{**file, "width": 90, "height": 90}], "caption": "/mydata"},
    }[kind]


@contextmanager
def fuzz_bot(database_url: str) -> Iterator[FuzzBot]:
    """The bot on ``database_url`` (migrated, empty), with people to play."""
    loop = asyncio.new_event_loop()
    engine = make_engine(database_url)
    clock = ManualClock(START)
    from tests.conftest import make_settings

    runtime = Runtime(settings=make_settings(database_url), clock=clock,
                      sessions=make_session_factory(engine))
    harness, application = loop.run_until_complete(start_harness(runtime, clock))
    logs = LogWatch()
    logging.getLogger().addHandler(logs)
    try:
        phones = {name: harness.phone(name.title(), language)
                  for name, language in zip(PERSONAS, ("ar", "fa", "sv", "en", "ti"),
                                            strict=True)}
        now = clock.now()
        with unit_of_work(runtime.sessions) as db:
            centre = factories.centre(db, now)
            coach = factories.staff(db, now, Role.COACH, centre, name="Coach", language="sv",
                                    telegram_user_id=phones["coach"].id)
            factories.staff(db, now, Role.ADMIN, None, name="Admin", language="en",
                            telegram_user_id=phones["admin"].id)
            attendance_policy.update(db, now, centre, actor=None, location_rule="alternative")
            enrol(db, now, centre, coach, "Aspirant", required=True,
                  telegram_user_id=phones["aspirant"].id, language="fa")
            factories.session(db, now, centre, START + timedelta(days=2))
            code = factories.aspirant_invite(db, now, centre, coach).code
        bot = FuzzBot(harness, loop, phones, logs)
        loop.run_until_complete(phones["newcomer"].send(f"/start {code}"))
        yield bot
    finally:
        logging.getLogger().removeHandler(logs)
        loop.run_until_complete(application.shutdown())
        engine.dispose()
        loop.close()


def property_for(bot: FuzzBot, examples: int) -> Callable[[], None]:
    """The property over ``bot``, run for ``examples`` sequences of actions."""

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(SEQUENCES)
    def no_input_breaks_the_bot(actions: list[Action]) -> None:
        bot.run(actions)

    return no_input_breaks_the_bot
