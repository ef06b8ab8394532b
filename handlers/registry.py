"""Registers every handler module, in order: specific handlers first, free text last."""

from __future__ import annotations

from telegram.ext import Application

from handlers import (
    admin,
    admin_policies,
    admin_rules,
    attendance,
    base,
    caseload,
    demographics,
    exits,
    invite,
    menu,
    onboarding,
    plans,
    reminder_answers,
    report,
    sessions_admin,
    social_worker,
    text_input,
    web,
)


def register_all(application: Application) -> None:
    # Before onboarding: its /start must not see check-in links (/start ci_...).
    attendance.register(application)
    onboarding.register(application)
    caseload.register(application)
    demographics.register(application)
    exits.register(application)
    invite.register(application)
    report.register(application)
    admin.register(application)
    admin_policies.register(application)
    admin_rules.register(application)
    sessions_admin.register(application)
    plans.register(application)
    social_worker.register(application)
    reminder_answers.register(application)
    text_input.register(application)
    web.register(application)
    menu.register(application)
    application.add_error_handler(base.on_error)
