"""RPC plumbing shared by the API (client side) and the manager (server side).

Two transports, one contract:

* ``[DEFAULT] transport_url`` set: oslo.messaging over that broker.
* empty (the embedded default): the call goes straight to the endpoint
  registered in this process, through the same serializer and a JSON round
  trip, and errors come back the way oslo.messaging would rebuild them.
  oslo.messaging's ``fake:/`` driver would do the same but polls every 50 ms.
"""

import json
import sys
import threading

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_messaging._drivers import common as rpc_common
from oslo_serialization import jsonutils

from climate import context as climate_context

CONF = cfg.CONF

# Expected errors raised by the manager come back as their own class.
ALLOWED_EXMODS = ["climate.exceptions"]

_lock = threading.Lock()
_transport = None
_local_endpoints = {}


class RequestContextSerializer(messaging.Serializer):
    """JSON primitives for payloads, ``RequestContext`` for the context."""

    def __init__(self):
        self._base = messaging.JsonPayloadSerializer()

    def serialize_entity(self, ctxt, entity):
        return self._base.serialize_entity(ctxt, entity)

    def deserialize_entity(self, ctxt, entity):
        return self._base.deserialize_entity(ctxt, entity)

    def serialize_context(self, ctxt):
        return ctxt.to_dict()

    def deserialize_context(self, ctxt):
        # Current for the thread that runs the call, so that the manager's
        # log lines say who asked (the in-process client puts the caller's
        # back afterwards).
        return climate_context.RequestContext.from_dict(ctxt, overwrite=True)


def uses_broker():
    """True when a transport_url is configured (the distributed mode)."""
    return bool(CONF.transport_url)


def get_transport():
    global _transport
    with _lock:
        if _transport is None:
            _transport = messaging.get_rpc_transport(
                CONF, allowed_remote_exmods=ALLOWED_EXMODS
            )
        return _transport


def cleanup():
    """Drop the transport and the in-process endpoints (tests, shutdown)."""
    global _transport
    with _lock:
        if _transport is not None:
            _transport.cleanup()
            _transport = None
        _local_endpoints.clear()


def get_client(topic, version):
    """A client for ``topic``: oslo.messaging's, or the in-process one."""
    target = messaging.Target(topic=topic, version=version)
    if uses_broker():
        return messaging.get_rpc_client(
            get_transport(), target, serializer=RequestContextSerializer()
        )
    return InProcessClient(topic)


def get_server(topic, server, endpoints):
    """An RPC server for ``topic`` on the broker.

    oslo.messaging runs it on threads: it would choose eventlet only in a
    monkey-patched process, and Climate never patches.  (Naming the executor
    is deprecated.)
    """
    target = messaging.Target(topic=topic, server=server)
    access_policy = messaging.rpc.dispatcher.ExplicitRPCAccessPolicy
    return messaging.get_rpc_server(
        get_transport(),
        target,
        endpoints,
        serializer=RequestContextSerializer(),
        access_policy=access_policy,
    )


def register_local_endpoint(topic, endpoint):
    """Make ``endpoint`` answer in-process calls to ``topic``."""
    _local_endpoints[topic] = endpoint


def unregister_local_endpoint(topic):
    _local_endpoints.pop(topic, None)


class InProcessClient:
    """Calls an endpoint of this process as if it sat behind a broker.

    Context, arguments and result are serialized and sent through JSON, and
    an exception is carried the way oslo.messaging carries it, so code that
    works here works over RabbitMQ.  Only ``call`` is offered: Climate's API
    has no casts.
    """

    def __init__(self, topic):
        self._topic = topic
        self._serializer = RequestContextSerializer()

    def prepare(self, **kwargs):
        return self

    def can_send_version(self, version):
        return True

    def call(self, ctxt, method, **kwargs):
        # The call runs in the caller's thread: whatever context the
        # manager's side makes current must not outlive it there.
        with climate_context.restored():
            return self._call(ctxt, method, **kwargs)

    def _call(self, ctxt, method, **kwargs):
        endpoint = _local_endpoints.get(self._topic)
        if endpoint is None:
            raise messaging.MessagingTimeout(
                f"no manager is running in this process for {self._topic}"
            )
        handler = getattr(endpoint, method, None)
        wire = _json_round_trip(
            {
                "context": self._serializer.serialize_context(ctxt),
                "args": {
                    key: self._serializer.serialize_entity(ctxt, value)
                    for key, value in kwargs.items()
                },
            }
        )
        server_ctxt = self._serializer.deserialize_context(wire["context"])
        args = {
            key: self._serializer.deserialize_entity(server_ctxt, value)
            for key, value in wire["args"].items()
        }
        try:
            if not hasattr(handler, "exposed"):
                # Refused on the server side, as the dispatcher does; a
                # broker carries the refusal back as a RemoteError.
                raise messaging.rpc.dispatcher.NoSuchMethod(method)
            result = handler(server_ctxt, **args)
        except Exception as exc:  # re-raised below as oslo.messaging would
            exc_info = sys.exc_info()
            if isinstance(exc, messaging.ExpectedException):
                exc_info = exc.exc_info
            failure = rpc_common.serialize_remote_exception(exc_info)
            # Not chained to ``exc``: the remote traceback travels in the
            # error, as over a broker, and is logged once.
            raise rpc_common.deserialize_remote_exception(
                failure, ALLOWED_EXMODS
            ) from None
        result = self._serializer.serialize_entity(server_ctxt, result)
        return self._serializer.deserialize_entity(
            ctxt, _json_round_trip(result)
        )


def _json_round_trip(value):
    return json.loads(jsonutils.dumps(value))
