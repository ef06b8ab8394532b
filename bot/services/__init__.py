"""Domain services: plain Python over SQLAlchemy sessions, no Telegram imports.

Each function takes the database session and, where time matters, ``now`` (an
aware UTC datetime from the injected clock).
"""
