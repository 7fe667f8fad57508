"""``climate-api``: the Lease API alone, talking to managers over RPC."""

import sys

from climate import exceptions
from climate.cmd import common, wsgi

DESCRIPTION = (
    "Serve Climate's REST API (the Lease API) on [api] host:[api] port "
    "(127.0.0.1:1234 unless set), forwarding every change to the "
    "climate-manager processes over the message broker of [DEFAULT] "
    "transport_url.  For a single process with everything in it, use "
    "climate-all."
)


def main():
    common.prepare(extra_opts=wsgi.cli_opts, description=DESCRIPTION)
    wsgi.apply_cli_opts()
    common.require_broker("climate-api")
    sock = wsgi.listen("climate-api")
    common.exit_on_signal()
    try:
        wsgi.serve(sock)
    except exceptions.ConfigurationError as exc:
        # [manager] plugins names what the API serves too.
        sys.exit(f"climate-api cannot start: {exc.message}")
