"""Options of the [healthcheck] group: oslo.middleware's healthcheck.

They are oslo.middleware's own options; Climate only changes the default
of ``backends`` so that ``GET /healthcheck`` checks that the database
answers.
"""

from oslo_config import cfg
from oslo_middleware.healthcheck import opts as healthcheck_opts

#: The backend (an ``oslo.middleware.healthcheck`` entry point) that runs
#: a query on Climate's database.
DATABASE_BACKEND = "climate_database"

healthcheck_group = cfg.OptGroup(
    "healthcheck",
    title="GET /healthcheck (oslo.middleware)",
    help="GET /healthcheck answers 200 when every backend is healthy and "
    "503 otherwise, without authentication.",
)


def _opts():
    cfg.set_defaults(
        healthcheck_opts.HEALTHCHECK_OPTS, backends=[DATABASE_BACKEND]
    )
    return (
        healthcheck_opts.HEALTHCHECK_OPTS
        + healthcheck_opts.DISABLE_BY_FILE_OPTS
    )


def register_opts(conf):
    conf.register_group(healthcheck_group)
    conf.register_opts(_opts(), group=healthcheck_group)


def list_opts():
    return {healthcheck_group: _opts()}
