"""Serving the API application with waitress."""

import waitress
from oslo_config import cfg
from oslo_log import log as logging

from climate.api import app

CONF = cfg.CONF
LOG = logging.getLogger(__name__)


def serve():
    """Serve the API on ``[api] host``:``[api] port`` until interrupted."""
    server = waitress.create_server(
        app.create_app(),
        host=CONF.api.host,
        port=CONF.api.port,
        threads=CONF.api.threads,
        ident="climate",
        clear_untrusted_proxy_headers=True,
    )
    LOG.info(
        "Lease API listening on http://%s:%s/",
        CONF.api.host,
        server.effective_port,
    )
    server.run()
