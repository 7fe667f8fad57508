"""The opt-in statement log of climate.db.engine (CLIMATE_COUNT_SQL)."""

import threading

import pytest

from climate.db import api as db_api
from climate.db import engine as db_engine
from climate.plugins.hosts.db import api as host_db


@pytest.fixture
def statement_logs(monkeypatch):
    """A private table of open logs, closed after the test."""
    logs = {}
    monkeypatch.setattr(db_engine, "_statement_logs", logs)
    yield logs
    for log, _lock in logs.values():
        log.close()


def _lines(path):
    return path.read_text().splitlines()


def test_off_by_default_no_listener_is_registered(database, monkeypatch):
    monkeypatch.delenv(db_engine.COUNT_SQL_ENV, raising=False)
    host_db.host_list()
    engines = db_engine.ENGINES.get()
    for engine in (engines.writer, engines.reader):
        assert not engine.dispatch.before_cursor_execute
        assert not engine.dispatch.commit


def test_each_statement_is_a_line_with_its_thread(
    database, monkeypatch, tmp_path, statement_logs
):
    path = tmp_path / "statements.log"
    monkeypatch.setenv(db_engine.COUNT_SQL_ENV, str(path))
    db_api.dispose()

    host_db.host_list()
    worker = threading.Thread(target=host_db.host_list, name="other-thread")
    worker.start()
    worker.join()

    lines = _lines(path)
    threads = [line.split("\t", 1)[0] for line in lines]
    sql = [line.split("\t", 1)[1] for line in lines]
    main = threading.current_thread().name
    # A reader transaction: BEGIN, the host query, COMMIT; twice.
    assert threads == [main] * 3 + ["other-thread"] * 3
    assert sql[0] == sql[3] == "BEGIN"
    assert sql[1].startswith("SELECT ") and "FROM computehosts" in sql[1]
    assert "\n" not in sql[1]
    assert sql[2] == sql[5] == "COMMIT"


def test_a_failed_writer_logs_its_rollback(
    database, monkeypatch, tmp_path, statement_logs
):
    path = tmp_path / "statements.log"
    monkeypatch.setenv(db_engine.COUNT_SQL_ENV, str(path))
    db_api.dispose()

    with pytest.raises(RuntimeError), db_api.writer():
        host_db.host_list()
        raise RuntimeError("give up")

    sql = [line.split("\t")[1] for line in _lines(path)]
    assert sql[0] == "BEGIN IMMEDIATE"
    assert sql[1].startswith("SELECT ") and "FROM computehosts" in sql[1]
    assert sql[2:] == ["ROLLBACK"]
