"""Migrations on PostgreSQL and MariaDB: they build exactly the models."""

import pytest
import sqlalchemy as sa
from alembic import autogenerate
from alembic import migration as alembic_migration

from climate.db import api as db_api
from climate.db import migration
from tests import helpers

pytestmark = pytest.mark.services


def _head():
    return migration.scripts().get_current_head()


def _schema_diff(url):
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            context = alembic_migration.MigrationContext.configure(
                connection, opts={"compare_type": True}
            )
            return autogenerate.compare_metadata(context, migration.metadata())
    finally:
        engine.dispose()


def _last_line(output):
    # oslo.log writes its records to stdout too when no log file is set.
    return output.strip().splitlines()[-1]


def test_upgrade_head_builds_the_models(db_url, config):
    config.config(connection=db_url, group="database")
    try:
        assert migration.current() is None
        migration.upgrade("head")
        assert migration.current() == _head()
        assert _schema_diff(db_url) == []
        # A second upgrade finds nothing to do.
        migration.upgrade("head")
        assert migration.current() == _head()
    finally:
        db_api.dispose()


def test_db_manage_upgrade_and_current(postgresql_url, tmp_path, run_climate):
    config_file = helpers.write_config(
        tmp_path / "climate.conf",
        {
            "DEFAULT": {"state_path": tmp_path / "state"},
            "database": {"connection": postgresql_url},
        },
    )

    upgrade = run_climate("climate-db-manage", config_file, "upgrade", "head")
    assert upgrade.returncode == 0, upgrade.stderr
    assert _last_line(upgrade.stdout) == f"database at revision {_head()}"

    after = run_climate("climate-db-manage", config_file, "current")
    assert after.returncode == 0, after.stderr
    assert _last_line(after.stdout) == _head()
    assert _schema_diff(postgresql_url) == []


def test_db_manage_fails_clearly_without_the_database(
    postgresql_url, tmp_path, run_climate
):
    missing = sa.engine.make_url(postgresql_url).set(
        database=postgresql_url.rsplit("/", 1)[1] + "_missing"
    )
    config_file = helpers.write_config(
        tmp_path / "climate.conf",
        {
            "DEFAULT": {"state_path": tmp_path / "state"},
            "database": {
                "connection": missing.render_as_string(hide_password=False)
            },
        },
    )

    result = run_climate("climate-db-manage", config_file, "upgrade", "head")

    assert result.returncode != 0
    assert "climate-db-manage upgrade failed:" in result.stderr
    assert "Traceback" not in result.stderr
