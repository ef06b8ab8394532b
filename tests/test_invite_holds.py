"""Invites are held by the Telegram account that opened them first, and a staff invite
never silently changes an account that is already registered (issue 15, points 4 and 5)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.models import Enrolment, Invite, Person, Role
from bot.services.people import invites, people, retention
from tests import factories

HELD = ("This invite link is already in use on another Telegram account. If it was meant "
        "for you, please ask your coach to release it.")


async def _setup(harness):
    now = harness.clock.now()
    coach_phone = harness.phone("Karin", "en")
    with harness.db() as db:
        centre = factories.centre(db, now)
        coach = factories.staff(db, now, Role.COACH, centre, name="Karin", language="en",
                                telegram_user_id=coach_phone.id)
        invite = factories.aspirant_invite(db, now, centre, coach)
        invite.created_by_id = coach.id
        return invite.code, coach_phone


async def _enrolments(harness, phone) -> int:
    with harness.db() as db:
        person = people.by_telegram_id(db, phone.id)
        if person is None:
            return 0
        return db.scalar(select(func.count()).select_from(Enrolment)
                         .where(Enrolment.aspirant_id == person.id))


async def test_a_forwarded_invite_cannot_be_completed_by_someone_else(harness):
    code, coach_phone = await _setup(harness)
    amina = harness.phone("Amina", "en")
    await amina.send(f"/start {code}")
    await amina.press("English")  # she reads the consent text, and forwards the link

    mallory = harness.phone("Mallory", "en")
    replies = await mallory.send(f"/start {code}")
    assert [r["text"] for r in replies] == [HELD]

    await amina.press("I agree")
    assert await _enrolments(harness, amina) == 1
    assert await _enrolments(harness, mallory) == 0
    # The coach hears that another account tried, with a button to release it.
    await harness.dispatch()
    notice = next(t for t in coach_phone.texts if "another Telegram account" in t)
    assert "was refused" in notice
    assert "Release the invite" in coach_phone.buttons(
        next(m for m in coach_phone.bot_messages if m.get("text") == notice))


async def test_the_coach_releases_an_invite_taken_by_the_wrong_account(harness):
    code, coach_phone = await _setup(harness)
    mallory = harness.phone("Mallory", "en")
    await mallory.send(f"/start {code}")  # saw the QR code first
    await mallory.press("English")

    amina = harness.phone("Amina", "en")
    await amina.send(f"/start {code}")
    assert amina.last_text == HELD
    await harness.dispatch()
    await coach_phone.press("Release the invite")
    assert coach_phone.last_text.startswith("The invite is released.")

    await amina.send(f"/start {code}")
    assert amina.last_text == "Welcome! Please choose your language."
    # Mallory's consent, pressed late, finds the invite held by Amina now.
    await mallory.press("I agree")
    assert harness.emulator.callback_answers[-1]["text"] == HELD
    await amina.press("English")
    await amina.press("I agree")
    assert await _enrolments(harness, amina) == 1
    assert await _enrolments(harness, mallory) == 0
    with harness.db() as db:
        invite = db.scalar(select(Invite).where(Invite.code == code))
        assert invite.opened_by_user_id is None, "the account id is not kept once used"


async def test_only_its_maker_or_an_admin_may_release_an_invite(harness):
    code, _coach_phone = await _setup(harness)
    now = harness.clock.now()
    with harness.db() as db:
        centre = db.scalar(select(factories.JobCentre))
        other = factories.staff(db, now, Role.COACH, centre, name="Other")
        admin = factories.staff(db, now, Role.ADMIN, centre, name="Admin")
        invite = db.scalar(select(Invite).where(Invite.code == code))
        invite.opened_by_user_id, invite.opened_at = 4242, now
        db.flush()
        import pytest

        from bot.errors import NotFound

        with pytest.raises(NotFound):
            invites.release(db, now, invite.id, other)
        invites.release(db, now, invite.id, admin)
        assert invite.opened_by_user_id is None


async def test_declining_frees_the_invite(harness):
    code, _coach = await _setup(harness)
    amina = harness.phone("Amina", "en")
    await amina.send(f"/start {code}")
    await amina.press("English")
    await amina.press("No, thanks")
    assert "Nothing about you has been stored" in amina.last_text
    with harness.db() as db:
        assert db.scalar(select(Invite.opened_by_user_id).where(Invite.code == code)) is None
    # Whoever opens it next (her sister, on her own phone) can use it.
    sister = harness.phone("Sara", "en")
    await sister.send(f"/start {code}")
    assert sister.last_text == "Welcome! Please choose your language."


async def test_an_aspirant_never_becomes_staff_through_an_invite(harness):
    code, _coach = await _setup(harness)
    now = harness.clock.now()
    admin_phone = harness.phone("Admin", "en")
    amina = harness.phone("Amina", "en")
    await amina.send(f"/start {code}")
    await amina.press("English")
    await amina.press("I agree")
    with harness.db() as db:
        centre = db.scalar(select(factories.JobCentre))
        admin = factories.staff(db, now, Role.ADMIN, centre, name="Admin", language="en",
                                telegram_user_id=admin_phone.id)
        staff_code = invites.create(db, now, role=Role.COACH, job_centre=centre,
                                    created_by=admin).code

    replies = await amina.send(f"/start {staff_code}")
    assert replies[-1]["text"].startswith("This invite is for staff. Your account is "
                                          "registered as an aspirant")
    with harness.db() as db:
        person = people.by_telegram_id(db, amina.id)
        assert {g.role for g in person.roles} == {Role.ASPIRANT}
        invite = db.scalar(select(Invite).where(Invite.code == staff_code))
        assert invite.used_at is None and invite.opened_by_user_id is None
    await harness.dispatch()
    assert admin_phone.last_text == (
        "Your invite for a new coach at Jobbtorg Kista was opened by an account that is "
        "registered as an aspirant, and was refused: a staff role is never added to an "
        "aspirant's account. The invite still works for someone else.")
    # The coach it was meant for can still use it.
    karl = harness.phone("Karl", "en")
    await karl.send(f"/start {staff_code}")
    assert karl.texts[0] == "You are now registered as coach for Jobbtorg Kista."


async def test_staff_with_a_role_are_asked_before_another_is_added(harness):
    now = harness.clock.now()
    karin = harness.phone("Karin", "en")
    with harness.db() as db:
        centre = factories.centre(db, now)
        factories.staff(db, now, Role.COACH, centre, name="Karin", language="en",
                        telegram_user_id=karin.id)
        code = invites.create(db, now, role=Role.ADMIN, job_centre=centre).code

    await karin.send(f"/start {code}")
    assert karin.last_text == ("You are already registered as coach. This invite adds the "
                               "role administrator for Jobbtorg Kista to your account. Do you "
                               "want that?")
    await karin.press("No")
    assert karin.last_text.startswith("Nothing has changed. The invite was not used")
    with harness.db() as db:
        person = people.by_telegram_id(db, karin.id)
        assert not person.has_role(Role.ADMIN)
        assert db.scalar(select(Invite.opened_by_user_id).where(Invite.code == code)) is None

    await karin.send(f"/start {code}")
    question = karin.last_with_buttons()
    yes = question["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await karin.press("Yes, add it")
    assert karin.texts[-2] == "You are now registered as administrator for Jobbtorg Kista."
    with harness.db() as db:
        person = people.by_telegram_id(db, karin.id)
        assert person.has_role(Role.ADMIN) and person.has_role(Role.COACH)
    # The question's button, pressed again (a replayed press), does nothing now.
    await karin.press_data(question["message_id"], yes)
    assert harness.emulator.callback_answers[-1]["text"] == "This button is no longer active."


async def test_holds_are_forgotten_when_an_invite_lapses_or_its_account_stops(harness):
    code, _coach = await _setup(harness)
    amina = harness.phone("Amina", "en")
    await amina.send(f"/start {code}")
    with harness.db() as db:
        assert db.scalar(select(Invite.opened_by_user_id).where(Invite.code == code)) == amina.id
    harness.clock.advance(timedelta(days=15))  # the invite expired
    with harness.db() as db:
        retention.erase_expired(db, harness.clock.now())
        assert db.scalar(select(Invite.opened_by_user_id).where(Invite.code == code)) is None
        assert db.scalar(select(func.count()).select_from(Person)) == 1  # just the coach
