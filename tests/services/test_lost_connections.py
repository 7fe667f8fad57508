"""A pooled connection the database dropped is one log line, not a
traceback: on PostgreSQL and MariaDB, a connection is killed by the server
while it is checked out, then goes back to the pool."""

import logging

import pytest
import sqlalchemy as sa
from sqlalchemy import pool as sa_pool

from climate.common import outages
from climate.db import engine as db_engine

pytestmark = pytest.mark.services

_KILL = {
    "postgresql": (
        "SELECT pg_backend_pid()",
        "SELECT pg_terminate_backend({})",
    ),
    "mysql": ("SELECT CONNECTION_ID()", "KILL {}"),
}


@pytest.fixture
def pool_log(caplog):
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.pool")
    return caplog


@pytest.fixture
def database_up():
    outages.DATABASE.answered()
    yield
    outages.DATABASE.answered()


def _return_a_killed_connection(db_url):
    """Check a connection out of Climate's pool, have the server kill it,
    give it back; answer how many connections the pool has replaced."""
    engine = db_engine.ENGINES.get().writer
    which, kill = _KILL[engine.dialect.name]
    connection = engine.raw_connection()
    cursor = connection.cursor()
    cursor.execute(which)  # also opens a transaction to roll back
    server_id = cursor.fetchone()[0]
    cursor.close()
    admin = sa.create_engine(db_url, poolclass=sa_pool.NullPool)
    try:
        with admin.connect() as other:
            other.exec_driver_sql(kill.format(int(server_id)))
            other.commit()
    finally:
        admin.dispose()
    connection.close()  # back to the pool: its rollback fails


def _with_traceback(caplog):
    return [r for r in caplog.records if r.exc_info or r.exc_text]


def test_a_lost_connection_is_one_warning(service_db, pool_log, database_up):
    _return_a_killed_connection(service_db)

    assert _with_traceback(pool_log) == []
    warnings = [
        r.getMessage()
        for r in pool_log.records
        if r.levelno >= logging.WARNING
    ]
    assert len(warnings) == 1, warnings
    assert "pooled database connection was lost" in warnings[0]
    # The pool replaced the connection: the next transaction works.
    with db_engine.reader() as session:
        assert session.execute(sa.text("SELECT 1")).scalar() == 1


def test_nothing_is_logged_during_an_outage_already_logged(
    service_db, pool_log, database_up
):
    outages.DATABASE.failed("the test says so")
    pool_log.clear()

    _return_a_killed_connection(service_db)

    assert [r for r in pool_log.records if r.levelno >= logging.WARNING] == []


def test_other_errors_keep_their_traceback(service_db, pool_log):
    engine = db_engine.ENGINES.get().writer
    try:
        raise ValueError("not a lost connection")
    except ValueError:
        engine.pool.logger.exception("Exception during reset")

    [record] = _with_traceback(pool_log)
    assert record.levelno == logging.ERROR
