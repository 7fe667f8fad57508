"""``climate-db-manage``: the database schema (Alembic migrations)."""

import sys

from oslo_config import cfg
from oslo_log import log as logging

from climate.cmd import common
from climate.db import migration

CONF = cfg.CONF


def _upgrade():
    migration.upgrade(CONF.command.revision)
    print(f"database at revision {migration.current()}")


def _current():
    print(migration.current() or "empty database (no revision)")


def _revision():
    migration.revision(
        CONF.command.message,
        autogenerate=CONF.command.autogenerate,
        version_path=CONF.command.version_path,
    )


def _add_parsers(subparsers):
    upgrade = subparsers.add_parser(
        "upgrade", help="apply migrations up to a revision (default head)"
    )
    upgrade.add_argument("revision", nargs="?", default="head")
    upgrade.set_defaults(func=_upgrade)

    current = subparsers.add_parser(
        "current", help="print the database's revision"
    )
    current.set_defaults(func=_current)

    revision = subparsers.add_parser(
        "revision", help="write a new migration script (developers)"
    )
    revision.add_argument("-m", "--message", required=True)
    revision.add_argument(
        "--autogenerate",
        action="store_true",
        help="compare the models with the database",
    )
    revision.add_argument(
        "--version-path",
        help="the directory to write it in: a plugin's migrations_dir "
        "when its tables changed (default: the core's versions)",
    )
    revision.set_defaults(func=_revision)


_command_opt = cfg.SubCommandOpt(
    "command",
    title="Commands",
    handler=_add_parsers,
    help="what to do with the database",
)


def main():
    # Logs go to stderr, so that stdout carries only the answer (the
    # revision of ``current``) and scripts can read it.
    logging.register_options(CONF)
    CONF.set_default("use_stderr", True)
    common.prepare(extra_opts=[_command_opt])
    if CONF.state_path and not CONF.database.connection:
        common.ensure_state_path()
    try:
        CONF.command.func()
    except Exception as exc:  # a clear line, not a traceback, for operators
        sys.exit(f"climate-db-manage {CONF.command.name} failed: {exc}")
