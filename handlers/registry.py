"""Registers every handler module, in order: specific handlers first, free text last."""

from __future__ import annotations

from telegram.ext import Application

from handlers import base, invite, menu, onboarding


def register_all(application: Application) -> None:
    onboarding.register(application)
    invite.register(application)
    menu.register(application)
    application.add_error_handler(base.on_error)
