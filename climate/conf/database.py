"""Options of the [database] group."""

from oslo_config import cfg

database_group = cfg.OptGroup("database", title="Database options")

database_opts = [
    cfg.StrOpt(
        "connection",
        secret=True,
        help="SQLAlchemy URL of Climate's database, for example "
        "postgresql+psycopg://climate:secret@db/climate or "
        "mysql+pymysql://climate:secret@db/climate.  Empty means an SQLite "
        "file, climate.sqlite, in [DEFAULT] state_path.",
    ),
    cfg.IntOpt(
        "max_pool_size",
        default=10,
        min=1,
        help="Connections kept open per process (PostgreSQL and MariaDB).",
    ),
    cfg.IntOpt(
        "pool_timeout",
        default=5,
        min=1,
        help="Seconds a request waits for a free pooled connection before "
        "it is answered 503 (PostgreSQL and MariaDB).  Related: "
        "max_pool_size.",
    ),
    cfg.IntOpt(
        "connect_timeout",
        default=5,
        min=1,
        help="Seconds to wait for the database server to accept a new "
        "connection before the request is answered 503 (PostgreSQL and "
        "MariaDB).",
    ),
    cfg.IntOpt(
        "connection_recycle_time",
        default=3600,
        min=1,
        help="Seconds after which a pooled connection is replaced, so a "
        "server-side idle timeout never hands out a dead connection.",
    ),
    cfg.IntOpt(
        "sqlite_busy_timeout",
        default=30,
        min=1,
        help="Seconds an SQLite writer waits for another to finish before "
        "giving up.",
    ),
]


def register_opts(conf):
    conf.register_group(database_group)
    conf.register_opts(database_opts, group=database_group)


def list_opts():
    return {database_group: database_opts}
