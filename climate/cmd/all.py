"""``climate-all``: the embedded service, API and manager in one process.

On first run it creates ``[DEFAULT] state_path`` and the database (SQLite
there by default) and brings the schema up to date; RPC stays in-process
unless ``[DEFAULT] transport_url`` is set.
"""

import sys

from oslo_config import cfg
from oslo_log import log as logging

from climate import exceptions
from climate.cmd import common, wsgi
from climate.db import migration
from climate.manager import service

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

DESCRIPTION = (
    "Run the embedded Climate service: the REST API on [api] host:[api] "
    "port (127.0.0.1:1234 unless set) and the lease manager in one "
    "process, with the SQLite database in [DEFAULT] state_path (created, "
    "and its schema brought up to date, on start)."
)


def main():
    common.prepare(extra_opts=wsgi.cli_opts, description=DESCRIPTION)
    wsgi.apply_cli_opts()
    # The port first: nothing (migrations, the event loop) starts when
    # another process holds it.
    sock = wsgi.listen("climate-all")
    common.ensure_state_path()
    migration.upgrade("head")
    try:
        manager = service.ManagerService()
    except exceptions.ConfigurationError as exc:
        sock.close()
        sys.exit(f"climate-all cannot start: {exc.message}")
    common.exit_on_signal()
    manager.start()
    try:
        wsgi.serve(sock)
    except KeyboardInterrupt:
        pass
    finally:
        manager.stop()
