"""Admin screens in chat say reminder timings in words, not in the short form typed."""

from __future__ import annotations

import re

from bot.models import Role
from bot.services.reminders import rules as reminder_rules
from tests import factories


async def test_rule_list_says_when_in_words(harness):
    now = harness.clock.now()
    phone = harness.phone("Sara", "en")
    with harness.db() as db:
        factories.staff(db, now, Role.ADMIN, None, name="Sara", language="en",
                        telegram_user_id=phone.id)
        reminder_rules.install_defaults(db, now)
    await phone.send("/admin")
    await phone.press("Reminder rules")
    await phone.press("General rules")
    labels = [b for b in phone.buttons() if re.match(r"^[✓✗] \d+\. ", b)]
    assert labels, phone.buttons()
    short_form = re.compile(r"(^|\s)[+-]\d+(wd|d|h|m)\b")
    assert not any(short_form.search(label) for label in [*labels, phone.last_text])
    assert "✓ 1. 1 day before, at the same time" in labels
    assert "1. ✓ information session: 1 day before, at the same time (aspirant)" in \
        phone.last_text
    assert any("working day" in label and "09:00" in label for label in labels), labels
    # Every label fits a phone's width.
    assert max(len(label) for label in labels) <= 40
