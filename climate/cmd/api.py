"""``climate-api``: the Lease API alone, talking to managers over RPC."""

import sys

from climate import exceptions
from climate.cmd import common, wsgi


def main():
    common.prepare()
    common.require_broker("climate-api")
    common.exit_on_signal()
    try:
        wsgi.serve()
    except exceptions.ConfigurationError as exc:
        # [manager] plugins names what the API serves too.
        sys.exit(f"climate-api cannot start: {exc.message}")
