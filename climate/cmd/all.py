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


def main():
    common.prepare()
    common.ensure_state_path()
    migration.upgrade("head")
    try:
        manager = service.ManagerService()
    except exceptions.ConfigurationError as exc:
        sys.exit(f"climate-all cannot start: {exc.message}")
    common.exit_on_signal()
    manager.start()
    try:
        wsgi.serve()
    except KeyboardInterrupt:
        pass
    finally:
        manager.stop()
