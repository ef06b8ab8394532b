"""Core of jobbot: settings, data model, domain services and wiring.

Nothing in the core below ``bot.app`` imports Telegram: services work on plain
SQLAlchemy sessions and an injected clock so they can be tested without a bot.
"""
