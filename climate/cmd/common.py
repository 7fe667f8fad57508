"""What every Climate command does first: configuration and logging."""

import os
import signal
import sys
import threading

from oslo_config import cfg
from oslo_log import log as logging

from climate import conf  # noqa: F401  (registers the options)

CONF = cfg.CONF
LOG = logging.getLogger(__name__)


def prepare(argv=None, extra_opts=(), description=None):
    """Parse the command line and config files, then set up logging.

    :param extra_opts: the command's own command line options.
    :param description: what the command does, for ``--help``.
    """
    logging.register_options(CONF)
    if extra_opts:
        CONF.register_cli_opts(extra_opts)
    CONF(
        sys.argv[1:] if argv is None else argv,
        project="climate",
        description=description,
    )
    logging.setup(CONF, "climate")


def ensure_state_path():
    os.makedirs(CONF.state_path, exist_ok=True)


def require_broker(command):
    """Refuse to start a split-process command without a message broker."""
    if not CONF.transport_url:
        sys.exit(
            f"{command} talks to the other Climate processes through a "
            "message broker, but [DEFAULT] transport_url is not set (for "
            "example rabbit://user:password@host:5672/).  To run Climate "
            "as a single process, use climate-all."
        )


def wait_for_signal():
    """Block until SIGTERM or SIGINT."""
    stop = threading.Event()

    def _handler(signum, _frame):
        LOG.info("received signal %d, stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)
    stop.wait()


def exit_on_signal():
    """Turn SIGTERM into SystemExit, so ``finally`` blocks run."""

    def _handler(signum, _frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _handler)
