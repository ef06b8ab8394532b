from datetime import timedelta

from tests import factories
from tests.conftest import local


async def test_onboarding_smoke(harness):
    now = harness.clock.now()
    with harness.db() as db:
        centre = factories.centre(db, now)
        coach = factories.staff(db, now, factories.Role.COACH, centre)
        session = factories.session(db, now, centre, local(2026, 3, 4, 9, 30))
        invite = factories.aspirant_invite(db, now, centre, coach, session)
        code = invite.code
    phone = harness.phone("Amina", "en")
    replies = await phone.send(f"/start {code}")
    print(replies)
    replies = await phone.press("English")
    print([r.get("text") for r in replies])
    replies = await phone.press("I agree")
    print([r.get("text") for r in replies])
    replies = await phone.press("I'll come")
    print([r.get("text") for r in replies])
    print(phone.reply_keyboard)
    report = await harness.dispatch()
    print(report, harness.emulator.bot_messages(coach.telegram_user_id))
    replies = await phone.tap_menu("My data")
    print(replies[0]["text"])
    harness.clock.advance(timedelta(days=1))
