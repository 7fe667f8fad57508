"""Alembic, driven from code: upgrade, current revision, new revision."""

import os

from alembic import command
from alembic import config as alembic_config
from alembic import migration as alembic_migration

from climate.db import engine

_SCRIPT_LOCATION = os.path.join(os.path.dirname(__file__), "migrations")


def _config():
    cfg = alembic_config.Config()
    cfg.set_main_option("script_location", _SCRIPT_LOCATION)
    return cfg


def upgrade(revision="head"):
    """Bring the configured database up to ``revision``."""
    command.upgrade(_config(), revision)


def current():
    """The database's revision, or None for an empty database."""
    with engine.ENGINES.get().writer.connect() as connection:
        context = alembic_migration.MigrationContext.configure(connection)
        return context.get_current_revision()


def revision(message, autogenerate=True):
    """Write a new migration script comparing the models to the database."""
    command.revision(_config(), message=message, autogenerate=autogenerate)
