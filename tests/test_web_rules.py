"""Reminder rules in the console: a table per event kind in plain words, texts per language
with the missing ones marked, a preview of what a draft would send in the next 14 days
(to whom, when, in which language, moved or skipped), validation with the import's own
errors, saving that re-plans and is audited, and only for the admins the chat allows."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.config.schema import ConfigRejected
from bot.models import (
    Audience,
    AuditEntry,
    EventKind,
    OutboxMessage,
    OutboxStatus,
    Person,
    ReminderRule,
    Role,
)
from bot.services.reminders import rules as reminder_rules
from tests import factories
from tests.conftest import local
from tests.reminder_support import book, cast, session_at
from tests.web_support import console  # noqa: F401  (fixture)

SV_TEXT = "Hej {name}! Informationsmöte {date} kl. {time}."


def _world(harness, *, general_admin=True):
    """Kista with Amina (Arabic) and Erik (Swedish) booked on Wednesday 10:00; an admin of
    every centre (Sara) unless ``general_admin`` is off."""
    people = cast(harness, ("Amina", "ar"), ("Erik", "sv"))
    now = harness.clock.now()
    sara = harness.phone("Sara", "en")
    with harness.db() as db:
        if general_admin:
            factories.staff(db, now, Role.ADMIN, None, name="Sara", language="en",
                            telegram_user_id=sara.id)
        session = session_at(db, now, people.world, local(2026, 3, 4, 10, 0))
        for name in ("Amina", "Erik"):
            book(db, now, db.get(Person, people.ids[name]), session)
    return people, sara


def _rule_id(harness, kind=EventKind.INFO_SESSION, audience=Audience.ASPIRANT, days=0,
             minutes=0, centre_id=None):
    with harness.db() as db:
        return db.scalar(select(ReminderRule.id).where(
            ReminderRule.job_centre_id.is_(None) if centre_id is None
            else ReminderRule.job_centre_id == centre_id,
            ReminderRule.event_kind == kind, ReminderRule.audience == audience,
            ReminderRule.offset_days == days, ReminderRule.offset_minutes == minutes))


def _draft(rule_id, timing, *, kind="info_session", audience="aspirant", scope=0, **texts):
    fields = {"rule": str(rule_id or ""), "scope": str(scope), "kind": kind,
              "audience": audience, "timing": timing}
    fields.update({f"text_{code}": text for code, text in texts.items()})
    return fields


def _rows(browser, table="preview-table"):
    """The rows of a table on the page, as lists of cell texts."""
    import re
    from html import unescape

    body = browser.page.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body.split("<tbody>", 1)[1], flags=re.S)
    return [[" ".join(unescape(re.sub(r"<[^>]+>", " ", cell)).split())
             for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.S)]
            for row in rows]


def _pending(harness, rule_id):
    with harness.db() as db:
        return [(m.recipient_id, m.due_at) for m in db.scalars(
            select(OutboxMessage).where(OutboxMessage.rule_id == rule_id,
                                        OutboxMessage.status == OutboxStatus.PENDING)
            .order_by(OutboxMessage.due_at, OutboxMessage.recipient_id))]


async def test_the_table_says_when_in_plain_words_and_marks_missing_texts(harness, console):  # noqa: F811
    _people, sara = _world(harness)
    with harness.db() as db:
        rule_id = _rule_id(harness, days=-1)
        reminder_rules.update(db, harness.clock.now(), rule_id, texts={"sv": SV_TEXT})
    browser = await console.browser()
    await browser.sign_in(sara)
    await browser.get("/rules?scope=0")
    text = browser.text
    for heading in ("Information session", "First job plan", "Deepened job plan",
                    "Plan review", "Daily check-in"):
        assert heading in text
    assert "1 day before, at the same time -1d Aspirant" in text
    assert "2 working days before, at 09:00 -2wd 09:00 Coach" in text
    assert "The next working day, at 09:00" not in text  # +1wd reads "1 working day after"
    assert "1 working day after, at 09:00 +1wd 09:00 Team lead" in text
    # The rule with a Swedish text: the others use it; rules without texts use the built-in.
    row = text.split("1 day before, at the same time -1d Aspirant", 1)[1].split("Open", 1)[0]
    assert row.count("missing uses the Svenska text") == 5
    assert "missing built-in text" in text


async def test_the_preview_follows_the_draft_and_saves_nothing(harness, console):  # noqa: F811
    _people, sara = _world(harness)
    rule_id = _rule_id(harness, days=-1)
    before = _pending(harness, rule_id)
    browser = await console.browser()
    await browser.sign_in(sara)

    await browser.get(f"/rules/{rule_id}")
    # The rule as saved: the day before at the same time, to each booked aspirant by name.
    assert _rows(browser) == [
        ["Tue 3 Mar 10:00", "Amina", "Jobbtorg Kista", "العربية", "goes out then"],
        ["Tue 3 Mar 10:00", "Erik", "Jobbtorg Kista", "Svenska", "goes out then"]]
    assert "2 messages to 2 people." in browser.text

    await browser.post("/rules/preview", _draft(rule_id, "-90m"))
    assert browser.status == 200
    assert "90 minutes before" in browser.text
    assert [row[0] for row in _rows(browser)] == ["Wed 4 Mar 08:30"] * 2

    # 07:00 is in the night's quiet hours (20:00-08:00): moved to 08:00, and said so.
    await browser.post("/rules/preview", _draft(rule_id, "-3h"))
    assert _rows(browser)[0] == ["Wed 4 Mar 08:00", "Amina", "Jobbtorg Kista", "العربية",
                                 "moved out of the quiet hours (planned for 07:00)"]
    assert "Moved to the end of the quiet hours: 2" in browser.text

    # 23:00 after the session: by the end of the night the day is over, so it is skipped.
    await browser.post("/rules/preview", _draft(rule_id, "+13h"))
    assert [row[-1] for row in _rows(browser)] == [
        "not sent: it would fall in the quiet hours"] * 2
    assert "Not sent, because of the quiet hours: 2" in browser.text
    assert "0 messages to 0 people." in browser.text

    # Nothing was saved by looking.
    with harness.db() as db:
        rule = db.get(ReminderRule, rule_id)
        assert (rule.offset_days, rule.offset_minutes) == (-1, 0)
        assert db.scalars(select(AuditEntry).where(AuditEntry.action == "rule.update")).all() \
            == []
    assert _pending(harness, rule_id) == before


async def test_a_draft_at_the_same_moment_as_another_reminder_is_merged(harness, console):  # noqa: F811
    _people, sara = _world(harness)
    browser = await console.browser()
    await browser.sign_in(sara)
    await browser.get("/rules/new?scope=0&kind=info_session")
    # The general rules already remind the day before at the same time: 24 hours is the
    # same moment, so the aspirant would get one message, not two.
    await browser.post("/rules/preview", _draft(None, "-24h"))
    assert [row[-1] for row in _rows(browser)] == [
        "not sent: another reminder reaches them at the same moment"] * 2


async def test_names_only_for_the_admins_own_centre(harness, console):  # noqa: F811
    _people, _sara = _world(harness)
    now = harness.clock.now()
    rule_id = _rule_id(harness, days=-1)
    with harness.db() as db:
        farsta = factories.centre(db, now, "Jobbtorg Farsta")
        other = factories.staff(db, now, Role.ADMIN, farsta, name="Olle", language="en")
        other_phone = harness.phone("Olle", "en")
        other.telegram_user_id = other.chat_id = other_phone.id
    browser = await console.browser()
    await browser.sign_in(other_phone)
    # A general rule: Farsta's admin may read it and see what it sends, but not who in Kista.
    await browser.get(f"/rules/{rule_id}")
    assert browser.status == 200
    assert "You can read this rule" in browser.text and 'formaction="/rules/save"' \
        not in browser.page
    assert [row[1] for row in _rows(browser)] == ["Aspirant", "Aspirant"]
    assert "Amina" not in browser.text and "Erik" not in browser.text


async def test_saving_re_plans_the_reminders_and_is_audited(harness, console):  # noqa: F811
    _people, sara = _world(harness)
    rule_id = _rule_id(harness, days=-1)
    assert [due for _, due in _pending(harness, rule_id)] == [local(2026, 3, 3, 10, 0)] * 2
    browser = await console.browser()
    await browser.sign_in(sara)
    await browser.get(f"/rules/{rule_id}")
    await browser.post("/rules/save", _draft(rule_id, "-90m", sv=SV_TEXT))
    assert browser.url.endswith(f"/rules/{rule_id}?saved=1")
    assert "Saved. The reminders are planned again: see below." in browser.text
    assert _rows(browser, "planned-table") == [
        ["Wed 4 Mar 08:30", "Amina", "العربية", "planned"],
        ["Wed 4 Mar 08:30", "Erik", "Svenska", "planned"]]
    assert [due for _, due in _pending(harness, rule_id)] == [local(2026, 3, 4, 8, 30)] * 2
    with harness.db() as db:
        rule = db.get(ReminderRule, rule_id)
        assert (rule.offset_minutes, rule.texts) == (-90, {"sv": SV_TEXT})
        cancelled = db.scalars(select(OutboxMessage).where(
            OutboxMessage.rule_id == rule_id,
            OutboxMessage.status == OutboxStatus.CANCELLED)).all()
        assert {m.skip_reason for m in cancelled} == {"rule_changed"} and len(cancelled) == 2
        [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "rule.update"))
        assert entry.subject_id == rule_id
        assert entry.details["fields"] == ["at_local_time", "offset_days", "offset_minutes",
                                           "texts", "working_days"]
        sara_id = db.scalar(select(Person.id).where(Person.telegram_user_id == sara.id))
        assert entry.actor_id == sara_id

    # The same timing as another rule of the scope is refused, as in chat and import.
    other = _rule_id(harness, minutes=-120)
    await browser.post("/rules/save", _draft(rule_id, "-2h", sv=SV_TEXT))
    assert browser.status == 400
    assert f"There is already a rule like this (rule {other})." in browser.text
    with harness.db() as db:
        assert db.get(ReminderRule, rule_id).offset_minutes == -90

    # Saving it unchanged changes nothing and says so.
    await browser.get(f"/rules/{rule_id}")
    await browser.post("/rules/save", _draft(rule_id, "-90m", sv=SV_TEXT))
    assert "Nothing has changed." in browser.text
    with harness.db() as db:
        assert len(db.scalars(select(AuditEntry).where(
            AuditEntry.action == "rule.update")).all()) == 1


@pytest.mark.parametrize(("timing", "texts", "problem"), [
    ("tomorrow", {}, "Not an offset: tomorrow. Write for example -1d, -2h, -30m or +1wd."),
    ("-200d", {}, "The offset must be at most 120 days before or after."),
    ("-1d 25:00", {}, "Not a time of day: 25:00. Write it like 20:00."),
    ("-1d", {"sv": "Hej {namn}"},
     "The text in sv uses an unknown placeholder: {namn}. Allowed: {centre}, {date}, "
     "{name}, {place}, {time}."),
    ("-1d", {"en": "Hello {"}, "The text in en has a broken placeholder: write placeholders "
                               "like {date}."),
])
async def test_bad_input_is_refused_with_the_imports_words_and_changes_nothing(
        harness, console, timing, texts, problem):  # noqa: F811
    _people, sara = _world(harness)
    rule_id = _rule_id(harness, days=-1)
    before = _pending(harness, rule_id)
    # A configuration file with the same rule refuses it with the same sentence.
    from bot.config.importer import import_config

    quoted = ", ".join(f'{code}: "{text}"' for code, text in texts.items())
    yaml = ("version: 1\nreminder_rules:\n"
            f"  - {{event: info_session, audience: aspirant, offset: \"{timing}\", "
            f"texts: {{{quoted}}}}}\n")
    with harness.db() as db, pytest.raises(ConfigRejected) as rejected:
        import_config(db, harness.clock.now(), yaml)
    assert problem in str(rejected.value)

    browser = await console.browser()
    await browser.sign_in(sara)
    for action in ("/rules/preview", "/rules/save"):
        await browser.get(f"/rules/{rule_id}")
        await browser.post(action, _draft(rule_id, timing, **texts))
        assert browser.status == 400
        assert problem in browser.text
        # What was typed stays in the form, to be corrected.
        assert f'value="{timing}"' in browser.page
    assert _pending(harness, rule_id) == before
    with harness.db() as db:
        rule = db.get(ReminderRule, rule_id)
        assert (rule.offset_days, rule.offset_minutes, rule.texts) == (-1, 0, {})


async def test_a_coach_cannot_open_the_rules(harness, console):  # noqa: F811
    people, _ = _world(harness)
    rule_id = _rule_id(harness, days=-1)
    browser = await console.browser()
    await browser.sign_in(people.coach)
    assert "/rules" not in browser.page  # not in the menu
    for path in ("/rules", f"/rules/{rule_id}", "/rules/new?scope=0&kind=info_session"):
        await browser.get(path)
        assert browser.status == 403, path
        assert "Tyvärr kan du inte använda det här." in browser.text
    await browser.get("/")
    await browser.post("/rules/save", _draft(rule_id, "-90m"))
    assert browser.status == 403
    with harness.db() as db:
        assert db.get(ReminderRule, rule_id).offset_days == -1


async def test_a_centre_admin_changes_only_the_centres_rules(harness, console):  # noqa: F811
    people, _ = _world(harness, general_admin=False)
    centre_id = people.world.centre.id
    general = _rule_id(harness, days=-1)
    browser = await console.browser()
    await browser.sign_in(people.admin)
    await browser.get(f"/rules/{general}")
    await browser.post("/rules/save", _draft(general, "-90m"), csrf=False)
    assert browser.status == 403
    await browser.get(f"/rules/{general}")
    await browser.post("/rules/save", _draft(general, "-90m"))
    assert browser.status == 403
    # The scope in the form is not trusted either: a new "general" rule is refused too.
    await browser.get("/rules")
    await browser.post("/rules/save", _draft(None, "-3h", scope=0))
    assert browser.status == 403

    # The centre's first rule of its own for the event: the preview says the general ones
    # stop applying there, and saving makes it so.
    await browser.get(f"/rules/new?scope={centre_id}&kind=info_session")
    assert browser.status == 200
    await browser.post("/rules/preview", _draft(None, "-3h", scope=centre_id))
    assert ("This is the job centre's first rule of its own for this event: the 2 general "
            "rules stop applying here.") in browser.text
    await browser.post("/rules/save", _draft(None, "-3h", scope=centre_id))
    own = _rule_id(harness, minutes=-180, centre_id=centre_id)
    assert own is not None and browser.url.endswith(f"/rules/{own}?saved=1")
    assert _pending(harness, general) == []  # the general rule no longer applies in Kista
    assert [due for _, due in _pending(harness, own)] == [local(2026, 3, 4, 8, 0)] * 2
    with harness.db() as db:
        [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "rule.create",
                                                      AuditEntry.subject_id == own))
        assert entry.actor_id == people.world.admin.id


async def test_a_form_without_its_csrf_token_changes_nothing(harness, console):  # noqa: F811
    _people, sara = _world(harness)
    rule_id = _rule_id(harness, days=-1)
    before = _pending(harness, rule_id)
    browser = await console.browser()
    await browser.sign_in(sara)
    await browser.get(f"/rules/{rule_id}")
    await browser.post("/rules/save", _draft(rule_id, "-90m"), csrf=False)
    assert browser.status == 403
    assert "This form has expired or did not come from this console" in browser.text
    await browser.post("/rules/save", [*_draft(rule_id, "-90m").items(), ("csrf", "0" * 64)],
                       csrf=False)
    assert browser.status == 403
    # The right token, but posted by a page of another site.
    await browser.get(f"/rules/{rule_id}")
    await browser.post("/rules/save", _draft(rule_id, "-90m"),
                       headers={"Origin": "https://evil.example"})
    assert browser.status == 403
    await browser.get(f"/rules/{rule_id}")
    await browser.post(f"/rules/{rule_id}/switch", {"enabled": "0"}, csrf=False)
    assert browser.status == 403
    assert _pending(harness, rule_id) == before
    with harness.db() as db:
        rule = db.get(ReminderRule, rule_id)
        assert (rule.offset_days, rule.offset_minutes, rule.enabled) == (-1, 0, True)


async def test_switching_a_rule_off_and_on(harness, console):  # noqa: F811
    _people, sara = _world(harness)
    rule_id = _rule_id(harness, days=-1)
    browser = await console.browser()
    await browser.sign_in(sara)
    await browser.get(f"/rules/{rule_id}")
    await browser.post(f"/rules/{rule_id}/switch", {"enabled": "0"})
    assert "Switched off." in browser.text and _pending(harness, rule_id) == []
    assert "Nothing is planned from this rule in the next 14 days." in browser.text
    assert "The rule is switched off and sends nothing" in browser.text
    await browser.post(f"/rules/{rule_id}/switch", {"enabled": "1"})
    assert len(_pending(harness, rule_id)) == 2


async def test_an_unknown_rule_is_a_clear_page(harness, console):  # noqa: F811
    _people, sara = _world(harness)
    browser = await console.browser()
    await browser.sign_in(sara)
    await browser.get("/rules/999")
    assert browser.status == 404 and "There is no reminder rule 999." in browser.text
    await browser.get("/rules/new?scope=0&kind=holiday")
    assert browser.status == 404
    await browser.get("/rules?scope=424242")
    assert browser.status == 404 and "That job centre no longer exists." in browser.text
