"""Options of the [DEFAULT] group that Climate itself defines."""

import os
import socket

import oslo_messaging
from oslo_config import cfg
from oslo_messaging import transport as messaging_transport
from oslo_messaging._drivers import impl_rabbit
from oslo_messaging.notify import notifier as messaging_notifier

default_opts = [
    cfg.StrOpt(
        "state_path",
        default=os.path.join(
            os.environ.get(
                "XDG_STATE_HOME", os.path.expanduser("~/.local/state")
            ),
            "climate",
        ),
        sample_default="$XDG_STATE_HOME/climate (~/.local/state/climate)",
        help="Directory where Climate keeps its state.  The embedded mode "
        "(climate-all) creates it on first run and keeps its SQLite "
        "database there unless [database] connection says otherwise.",
    ),
    cfg.StrOpt(
        "host",
        default=socket.gethostname(),
        sample_default="<the machine's hostname>",
        help="Name of this Climate process, recorded on the events a "
        "manager claims.  Each climate-manager of a deployment needs its own "
        "name; the process id is appended so two on one machine differ.",
    ),
]


def register_opts(conf):
    conf.register_opts(default_opts)
    # transport_url belongs to oslo.messaging, which registers it only when a
    # transport is made; Climate reads it earlier, to choose between the
    # broker and in-process RPC, and its default here is empty (in-process)
    # where oslo.messaging's is rabbit://.  Registering the library's own
    # option objects keeps its later registration a no-op.
    oslo_messaging.set_transport_defaults(control_exchange="climate")
    # After a broker restart, reconnect within a couple of seconds rather
    # than after oslo.messaging's growing pauses of up to 30 s: a process
    # that waited out an outage must not wait longer once it is over.
    # (The driver's own option objects: list_opts() gives copies.)
    cfg.set_defaults(impl_rabbit.rabbit_opts, rabbit_interval_max=2)
    cfg.set_defaults(messaging_transport._transport_opts, transport_url=None)
    conf.register_opts(messaging_transport._transport_opts)
    # Likewise [oslo_messaging_notifications], which the manager reads to
    # choose where its notifications go (climate.manager.notifications).
    conf.register_opts(
        messaging_notifier._notifier_opts,
        group="oslo_messaging_notifications",
    )


def list_opts():
    return {"DEFAULT": default_opts}
