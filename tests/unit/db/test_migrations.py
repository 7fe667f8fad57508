"""Migrations on SQLite build exactly the models, the installed plugins'
tables included.

tests/services/test_migrations.py does the same on PostgreSQL and MariaDB.
"""

import sqlalchemy as sa
from alembic import autogenerate
from alembic import migration as alembic_migration

from climate.db import api as db_api
from climate.db import migration
from climate.plugins.hosts import plugin as host_plugin

SCRIPTS = migration.scripts()


def _schema_diff(path):
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            context = alembic_migration.MigrationContext.configure(
                connection, opts={"compare_type": True}
            )
            return autogenerate.compare_metadata(context, migration.metadata())
    finally:
        engine.dispose()


def test_history_is_one_line():
    assert len(SCRIPTS.get_heads()) == 1
    assert len(SCRIPTS.get_bases()) == 1


def test_history_holds_the_installed_plugins_revisions():
    locations = migration.version_locations()
    assert locations[0] == migration.CORE_VERSIONS
    assert host_plugin.PhysicalHostPlugin.migrations_dir in locations
    hosts = SCRIPTS.get_revision("0002")
    assert hosts.path.startswith(host_plugin.PhysicalHostPlugin.migrations_dir)
    assert {"computehosts", "computehost_allocations"} <= set(
        migration.metadata().tables
    )


def test_migrated_database_matches_the_models(database):
    assert migration.current() == SCRIPTS.get_current_head()
    assert _schema_diff(database) == []


def test_upgrade_from_empty(config, tmp_path):
    path = tmp_path / "empty.sqlite"
    config.config(connection=f"sqlite:///{path}", group="database")
    db_api.dispose()

    assert migration.current() is None
    migration.upgrade("head")
    assert migration.current() == SCRIPTS.get_current_head()
    assert _schema_diff(path) == []

    # Upgrading an up-to-date database changes nothing.
    migration.upgrade("head")
    assert migration.current() == SCRIPTS.get_current_head()
    assert _schema_diff(path) == []


def test_upgrade_step_by_step(config, tmp_path):
    """Each revision applies on top of the one before it."""
    path = tmp_path / "steps.sqlite"
    config.config(connection=f"sqlite:///{path}", group="database")
    db_api.dispose()

    revisions = [r.revision for r in SCRIPTS.walk_revisions()][::-1]
    for revision in revisions:
        migration.upgrade(revision)
        assert migration.current() == revision
    assert _schema_diff(path) == []
