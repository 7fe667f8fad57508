"""Alembic environment: runs migrations on Climate's configured engine."""

from alembic import context

from climate.db import engine, migration


def run_migrations_online():
    connectable = engine.ENGINES.get().writer
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=migration.metadata(),
            # SQLite alters tables by copying them.
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
