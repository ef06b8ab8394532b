"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.db import current_revisions, head_revisions
from bot.models import Base


def test_migrated_schema_matches_the_models(engine, database_url):
    assert current_revisions(engine) == head_revisions(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_there_is_one_head_revision(database_url):
    assert len(head_revisions(database_url)) == 1


def test_database_errors_do_not_carry_personal_data(sessions, clock):
    """A failing statement's message shows no values (names, notes), only placeholders."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    from bot.models import Person

    with sessions() as db:
        # created_at is required: the insert fails with the name among its parameters.
        db.add(Person(telegram_user_id=5, chat_id=5, language="sv", display_name="Amina Yusuf",
                      created_at=None))
        with pytest.raises(IntegrityError) as error:
            db.flush()
        db.rollback()
    # PostgreSQL repeats the failing row in its message, so logs show no messages at all.
    import logging

    from bot.logsafe import PrivateFormatter

    record = logging.LogRecord("bot", logging.ERROR, __file__, 1, "handler failed", None,
                               (type(error.value), error.value, error.value.__traceback__))
    logged = PrivateFormatter().format(record)
    assert "Amina" not in logged
    assert "sqlalchemy.exc.IntegrityError (message withheld)" in logged
    assert "test_migrations.py" in logged  # where it happened is still there
