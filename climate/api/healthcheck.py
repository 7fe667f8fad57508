"""``GET /healthcheck``: oslo.middleware's healthcheck, as OpenStack
services answer it, with a backend that checks the database.

It answers without authentication: 200 ``OK`` when every backend of
``[healthcheck] backends`` (default: ``climate_database``) is healthy, 503
with the reason otherwise; ``[healthcheck] detailed`` adds details.
"""

from oslo_config import cfg
from oslo_log import log as logging
from oslo_middleware import healthcheck
from oslo_middleware.healthcheck import pluginbase

from climate.db import operations

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

PATH = "/healthcheck"


class DatabaseHealthcheck(pluginbase.HealthcheckBaseExtension):
    """Healthy when the database answers a trivial query.

    The ``climate_database`` entry point of the
    ``oslo.middleware.healthcheck`` group.
    """

    def healthcheck(self, server_port):
        """Run ``SELECT 1``; return a ``HealthcheckResult``."""
        try:
            operations.database_ping()
        except Exception as exc:  # any failure means "not healthy"
            LOG.warning("healthcheck: the database does not answer: %s", exc)
            return pluginbase.HealthcheckResult(
                available=False,
                reason="database unavailable",
                details=str(exc),
            )
        return pluginbase.HealthcheckResult(
            available=True, reason="database OK"
        )


class Mount:
    """Answer ``PATH`` with the healthcheck, anything else with ``app``."""

    def __init__(self, app):
        self._app = app
        # Requests the healthcheck declines (outside [healthcheck]
        # allowed_source_ranges) go on to the application: a 404.
        self._check = healthcheck.Healthcheck(app, CONF)

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "").rstrip("/") == PATH:
            return self._check(environ, start_response)
        return self._app(environ, start_response)
