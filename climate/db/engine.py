"""Engines and transactions.  Only ``climate.db.api`` and the resource
plugins' DB modules (``climate/plugins/<name>/db/``) use this module.

A transaction is opened with ``writer()`` or ``reader()``; a nested call joins
the transaction already open in the same thread, so a plugin's allocation and
the lease that owns it commit or roll back together.

SQLite: WAL journal, and writers start with ``BEGIN IMMEDIATE`` so that two
writers serialize at the start instead of failing at commit.  On PostgreSQL
and MariaDB writers run at READ COMMITTED, and correctness comes from row
locks and conditional updates in ``climate.db.api``; readers run at
REPEATABLE READ, so a read of several statements sees one snapshot.

For benchmarks only: with the environment variable ``CLIMATE_COUNT_SQL`` set
to a file name when the engines are built, every statement the process sends
(and every COMMIT and ROLLBACK) is appended to that file as one line, the
name of the thread that sent it, a tab, and the SQL text on one line (see
``bench/host_admission.py``).  Unset, no listener is registered at all.
"""

import contextlib
import contextvars
import hashlib
import logging
import os
import threading
import time

import sqlalchemy as sa
from oslo_config import cfg
from sqlalchemy import event, orm
from sqlalchemy import exc as sa_exc

from climate import exceptions
from climate.common import outages

CONF = cfg.CONF

_current = contextvars.ContextVar("climate_db_session", default=None)


def database_url(conf=CONF):
    """The configured URL, or the SQLite file in ``state_path``."""
    if conf.database.connection:
        return conf.database.connection
    path = os.path.join(conf.state_path, "climate.sqlite")
    return f"sqlite:///{path}"


class _Engines:
    """The process's engines, built on first use from the configuration."""

    def __init__(self):
        self._lock = threading.Lock()
        self.url = None
        self.writer = None
        self.reader = None

    def get(self):
        if self.writer is None:
            with self._lock:
                if self.writer is None:
                    self._build(database_url())
        return self

    def _build(self, url):
        parsed = sa.engine.make_url(url)
        if parsed.get_backend_name() == "sqlite":
            self.writer = _sqlite_engine(url, "BEGIN IMMEDIATE")
            self.reader = _sqlite_engine(url, "BEGIN")
        else:
            kwargs = {
                "pool_size": CONF.database.max_pool_size,
                # A request waits this long for a connection, then is
                # answered 503: never queued behind a stuck database.
                "pool_timeout": CONF.database.pool_timeout,
                "connect_args": {
                    "connect_timeout": CONF.database.connect_timeout
                },
                "pool_recycle": CONF.database.connection_recycle_time,
                "pool_pre_ping": True,
                "isolation_level": "READ COMMITTED",
            }
            self.writer = sa.create_engine(url, **kwargs)
            # A read of several statements (a lease, its reservations, its
            # events) sees one snapshot, so it never shows a lease a
            # concurrent delete has half removed: whole, or not found.
            # Same pool; the level is reset when a connection goes back.
            self.reader = self.writer.execution_options(
                isolation_level="REPEATABLE READ"
            )
            if parsed.get_backend_name() == "mysql":
                event.listen(self.writer.pool, "checkin", _release_named_locks)
            _QuietLostConnections.install(self.writer)
        self.url = url
        log_path = os.environ.get(COUNT_SQL_ENV)
        if log_path:
            # The reader of a server database is the writer with other
            # options, and hears the writer's listeners already.
            shared = parsed.get_backend_name() != "sqlite"
            engines = {self.writer} if shared else {self.writer, self.reader}
            _log_statements(engines, log_path)

    def dispose(self):
        with self._lock:
            if self.writer is not None:
                _QuietLostConnections.uninstall(self.writer)
            for engine in {self.writer, self.reader} - {None}:
                engine.dispose()
            self.writer = self.reader = self.url = None


def _sqlite_engine(url, begin_statement):
    engine = sa.create_engine(
        url,
        connect_args={
            "timeout": CONF.database.sqlite_busy_timeout,
            "check_same_thread": False,
        },
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the sqlite3 module, decide when BEGIN happens.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql(begin_statement)

    return engine


ENGINES = _Engines()

#: Names a file to log every SQL statement to (see the module docstring).
COUNT_SQL_ENV = "CLIMATE_COUNT_SQL"
_statement_logs = {}


def _log_statements(engines, path):
    """Append a line per statement, commit and rollback of ``engines``."""
    if path not in _statement_logs:
        # Open for the life of the process; line-buffered, so a reader
        # sees each statement as soon as it is sent.
        log = open(path, "a", buffering=1)
        _statement_logs[path] = (log, threading.Lock())
    log, lock = _statement_logs[path]

    def record(text):
        line = f"{threading.current_thread().name}\t{text}\n"
        with lock:
            log.write(line)

    def on_execute(conn, cursor, statement, parameters, context, many):
        record(" ".join(statement.split()))

    for engine in engines:
        event.listen(engine, "before_cursor_execute", on_execute)
        event.listen(engine, "commit", lambda conn: record("COMMIT"))
        event.listen(engine, "rollback", lambda conn: record("ROLLBACK"))


def backend_name():
    return sa.engine.make_url(ENGINES.get().url).get_backend_name()


@contextlib.contextmanager
def _transaction(engine_attr):
    current = _current.get()
    if current is not None:
        session, mode = current
        if engine_attr == "writer" and mode == "reader":
            # SQLite cannot turn a read transaction into a write one safely.
            raise RuntimeError("a writer cannot be nested in a reader")
        # Join the transaction already open in this thread.
        yield session
        return
    engine = getattr(ENGINES.get(), engine_attr)
    session = orm.Session(bind=engine, expire_on_commit=False)
    token = _current.set((session, engine_attr))
    started = time.monotonic()
    try:
        with session.begin():
            yield session
    except Exception as exc:
        if not (is_unreachable(exc) or _driver_lost(exc, engine)):
            raise
        outages.DATABASE.failed(_first_line(exc))
        raise exceptions.DatabaseUnavailable() from exc
    else:
        outages.DATABASE.answered(started)
    finally:
        _current.reset(token)
        session.close()


def is_unreachable(error):
    """Did ``error`` come from a database that cannot be reached?

    A lost or refused connection, or no pooled connection free within
    ``[database] pool_timeout``; not a statement the database refused.
    """
    if isinstance(error, sa_exc.TimeoutError):
        return True  # the pool's: every connection is stuck
    if not isinstance(error, sa_exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    # Failed while connecting: no statement was sent.
    return isinstance(error, sa_exc.OperationalError) and not error.statement


def _driver_lost(error, engine):
    """Is ``error`` the database driver's own connection error, raised as
    is?  SQLAlchemy does not wrap what the driver raises while it sets a
    connection up (the reader's isolation level, on MariaDB a ``COMMIT``):
    there, a server killed under a pooled connection surfaces as
    ``pymysql.err.OperationalError`` (2013, "Lost connection").  A
    statement's errors always come wrapped (``is_unreachable``)."""
    if engine.dialect.name == "sqlite":
        return False
    dbapi = getattr(engine.dialect, "loaded_dbapi", None)
    return dbapi is not None and isinstance(
        error, (dbapi.OperationalError, dbapi.InterfaceError)
    )


class _QuietLostConnections(logging.Filter):
    """One line, not a traceback, for a pooled connection the database
    dropped.

    A connection goes back to the pool with a rollback (and, for a reader,
    its isolation level reset).  When the database went away while it was
    out, that fails, and SQLAlchemy logs "Exception during reset or
    similar" with the driver's traceback, then replaces the connection:
    a traceback per connection in use when a database is killed, though
    nothing is wrong but the outage itself.  During an outage already
    logged (``outages.DATABASE``) the record is dropped; otherwise it
    becomes one warning.  Any other error keeps its traceback.
    """

    def __init__(self, engine):
        super().__init__()
        self._engine = engine

    @classmethod
    def install(cls, engine):
        """Quiet the lost connections of ``engine``'s pool."""
        cls._logger(engine).addFilter(cls(engine))

    @classmethod
    def uninstall(cls, engine):
        """Remove what ``install`` added (the engine is disposed)."""
        logger = cls._logger(engine)
        for quiet in list(logger.filters):
            if isinstance(quiet, cls) and quiet._engine is engine:
                logger.removeFilter(quiet)

    @staticmethod
    def _logger(engine):
        # The pool's logger, or the one under SQLAlchemy's wrapper of it
        # when the pool echoes (``echo_pool``).
        logger = engine.pool.logger
        return getattr(logger, "logger", logger)

    def filter(self, record):
        """Keep, drop (False) or rewrite ``record`` to one line."""
        error = record.exc_info[1] if record.exc_info else None
        if error is None or not (
            is_unreachable(error) or _driver_lost(error, self._engine)
        ):
            return True
        if not outages.DATABASE.up:
            return False
        record.msg = (
            "a pooled database connection was lost (%s); it is replaced"
        )
        record.args = (_first_line(error),)
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info = record.exc_text = None
        return True


def _first_line(error):
    orig = getattr(error, "orig", None) or error
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


def writer():
    """A read-write transaction, or the one already open in this thread."""
    return _transaction("writer")


def reader():
    """A read-only transaction, or the one already open in this thread."""
    return _transaction("reader")


def in_transaction():
    """True if this thread has a transaction open."""
    return _current.get() is not None


# PostgreSQL's deadlock_detected; MySQL's ER_LOCK_DEADLOCK.
_PG_DEADLOCK = "40P01"
_MYSQL_DEADLOCK = 1213


def is_deadlock(error):
    """Did the database abort the transaction to break a deadlock?"""
    orig = getattr(error, "orig", None)
    if getattr(orig, "sqlstate", None) == _PG_DEADLOCK:
        return True
    args = getattr(orig, "args", ())
    return bool(args) and args[0] == _MYSQL_DEADLOCK


_NAMED_LOCKS = "climate_named_locks"


def lock_key(session, key):
    """Take a lock named ``key`` until the transaction ends.

    Serializes writers that must see each other's rows though they touch
    no common row (two creates of one project checking its limits).
    PostgreSQL has transaction-scoped advisory locks; MariaDB's named locks
    belong to the connection, so they are released when the connection
    goes back to the pool, right after the transaction.  SQLite's single
    writer needs none.
    """
    backend = session.bind.dialect.name
    if backend == "postgresql":
        session.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
            {"key": key},
        )
    elif backend == "mysql":
        connection = session.connection()
        # GET_LOCK names are at most 64 characters.
        name = hashlib.sha256(key.encode()).hexdigest()[:64]
        got = connection.execute(
            sa.text("SELECT GET_LOCK(:name, :timeout)"),
            {"name": name, "timeout": CONF.database.sqlite_busy_timeout},
        ).scalar()
        connection.info[_NAMED_LOCKS] = True
        if got != 1:
            raise sa_exc.OperationalError(
                "GET_LOCK", {"name": name}, TimeoutError(key)
            )


def _release_named_locks(dbapi_connection, record):
    if record.info.pop(_NAMED_LOCKS, False):
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("DO RELEASE_ALL_LOCKS()")
        finally:
            cursor.close()
