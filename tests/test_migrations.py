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
