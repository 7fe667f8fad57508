"""Serving the API application with waitress.

The listening socket is bound first, before the database is migrated or a
manager starts, so a busy port stops the command at once with one line
naming the port and the options that choose it.
"""

import errno
import socket
import sys

import waitress
from oslo_config import cfg
from oslo_log import log as logging

from climate.api import app

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

#: ``--host`` and ``--port`` of climate-api and climate-all; they override
#: ``[api] host`` and ``[api] port``.  (Their own ``dest``: ``[DEFAULT]
#: host`` is the process's name.)
cli_opts = [
    cfg.HostAddressOpt(
        "host",
        dest="api_listen_host",
        metavar="ADDRESS",
        help="Address to listen on, overriding [api] host (default "
        "127.0.0.1; 0.0.0.0 for every interface).",
    ),
    cfg.PortOpt(
        "port",
        dest="api_listen_port",
        metavar="PORT",
        help="Port to listen on, overriding [api] port (default 1234).",
    ),
]


def apply_cli_opts():
    """Let ``--host`` and ``--port`` override the ``[api]`` options."""
    if CONF.api_listen_host is not None:
        CONF.set_override("host", CONF.api_listen_host, group="api")
    if CONF.api_listen_port is not None:
        CONF.set_override("port", CONF.api_listen_port, group="api")


def listen(command):
    """Bind and listen on ``[api] host``:``[api] port``; return the socket.

    :raises SystemExit: one line saying why, when the address cannot be
        used (a port in use above all).
    """
    host, port = CONF.api.host, CONF.api.port
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        sys.exit(
            f"{command}: cannot listen on {host}: {exc}; set [api] host or "
            "--host"
        )
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            sys.exit(
                f"{command}: port {port} is in use; set [api] port or --port"
            )
        sys.exit(
            f"{command}: cannot listen on {host} port {port}: "
            f"{exc.strerror or exc}; set [api] host and [api] port, or "
            "--host and --port"
        )
    return sock


def serve(sock):
    """Serve the API on the bound ``sock`` until interrupted."""
    server = waitress.create_server(
        app.create_app(),
        sockets=[sock],
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
