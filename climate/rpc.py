"""RPC plumbing shared by the API (client side) and the manager (server side).

Two transports, one contract:

* ``[DEFAULT] transport_url`` set: oslo.messaging over that broker.
* empty (the embedded default): the call goes straight to the endpoint
  registered in this process, through the same serializer and a JSON round
  trip, and errors come back the way oslo.messaging would rebuild them.
  oslo.messaging's ``fake:/`` driver would do the same but polls every 50 ms.
"""

import concurrent.futures
import json
import logging
import sys
import threading
import urllib.parse

import kombu.exceptions
import oslo_messaging as messaging
from oslo_config import cfg
from oslo_messaging._drivers import common as rpc_common
from oslo_serialization import jsonutils

from climate import context as climate_context
from climate import exceptions
from climate.common import outages

CONF = cfg.CONF

# Expected errors raised by the manager come back as their own class.
ALLOWED_EXMODS = ["climate.exceptions"]

#: The managers' topic: the lease methods (``climate.manager.rpcapi``)
#: and, each in its own namespace, the resource plugins' methods.
MANAGER_TOPIC = "climate.manager"

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
            if _reply_queue_pending():
                # The driver's cleanup would wait for the broker as long
                # as that thread does; the process is ending anyway.
                pass
            else:
                _transport.cleanup()
            _transport = None
        _local_endpoints.clear()
        # A thread still waiting for the broker keeps its old transport.
        _reply_queue["thread"] = None
        _reply_queue["ready"] = threading.Event()


def get_client(topic, version, namespace=None):
    """A client for ``topic``: oslo.messaging's, or the in-process one.

    :param namespace: the target namespace of the endpoint to call (a
        plugin's RPC methods have their own; None: the manager's).
    """
    target = messaging.Target(
        topic=topic, version=version, namespace=namespace
    )
    if uses_broker():
        _quiet_failed_sends()
        return BrokerClient(
            messaging.get_rpc_client(
                get_transport(), target, serializer=RequestContextSerializer()
            )
        )
    return InProcessClient(topic, version, namespace)


class _FailedSendFilter(logging.Filter):
    """Drops oslo.messaging's two error lines for each call that could
    not be sent: ``BrokerClient`` sends once and, during an outage,
    Climate logs the outage once instead (``climate.common.outages``).
    Its lines about reconnecting stay."""

    _DROPPED = ("Failed to publish message", "Unable to connect to AMQP")

    def filter(self, record):
        message = str(record.msg)
        return not message.startswith(self._DROPPED)


_send_filter = _FailedSendFilter()


def _quiet_failed_sends():
    # Its logger's name, as the module names it (oslo_messaging's
    # packaging has used both spellings).
    for name in (
        "oslo.messaging._drivers.impl_rabbit",
        "oslo_messaging._drivers.impl_rabbit",
    ):
        logger = logging.getLogger(name)
        if _send_filter not in logger.filters:
            logger.addFilter(_send_filter)


def broker_address():
    """``host:port`` of the configured broker(s), for messages (never the
    credentials)."""
    try:
        url = messaging.TransportURL.parse(CONF, CONF.transport_url)
    except Exception:  # a message must never fail
        return urllib.parse.urlsplit(CONF.transport_url or "").hostname
    return ", ".join(f"{h.hostname}:{h.port or 5672}" for h in url.hosts)


class BrokerClient:
    """oslo.messaging's client, failing fast when the broker is away.

    A call is sent once: when no connection to the broker can be made it
    fails at once with ``BrokerUnavailable`` (nothing was sent).  A call
    sent waits for its answer ``timeout`` seconds (default ``[api]
    write_timeout``), then fails with ``ManagerTimeout``: its fate is
    unknown, which the message says.  Both are noted in
    ``climate.common.outages`` (one log line per outage, not per call).
    """

    def __init__(self, client, timeout=None):
        self._client = client
        self._timeout = timeout

    def prepare(self, timeout=None, **kwargs):
        """A client for another version, namespace or ``timeout``."""
        timeout = timeout if timeout is not None else self._timeout
        return BrokerClient(self._client.prepare(**kwargs), timeout)

    def can_send_version(self, version):
        return self._client.can_send_version(version)

    def call(self, ctxt, method, **kwargs):
        timeout = self._timeout or CONF.api.write_timeout
        if not _reply_queue_ready(wait=_REPLY_QUEUE_WAIT):
            # oslo.messaging would wait for the broker, without limit,
            # before sending: nothing was sent.
            outages.BROKER.failed("no connection for the answers")
            raise exceptions.BrokerUnavailable(broker=broker_address())
        client = self._client.prepare(timeout=timeout, retry=0)
        # On a thread of its own, so the caller waits no longer than the
        # timeout whatever oslo.messaging does (connecting to a broker
        # that is still starting up can take seconds of its own).
        sending = _senders().submit(client.call, ctxt, method, **kwargs)
        try:
            result = sending.result(timeout=timeout + _DEADLINE_GRACE)
        except concurrent.futures.TimeoutError:
            if sending.cancel():  # never started: nothing was sent
                outages.BROKER.failed("every sending thread is stuck")
                raise exceptions.BrokerUnavailable(
                    broker=broker_address()
                ) from None
            outages.MANAGER.failed(
                f"{method} got no answer within {timeout} s"
            )
            raise exceptions.ManagerTimeout(
                timeout=timeout, advice=_retry_advice(ctxt)
            ) from None
        except _SEND_FAILURES as exc:
            outages.BROKER.failed(
                (str(exc).splitlines() or [type(exc).__name__])[0]
            )
            raise exceptions.BrokerUnavailable(
                broker=broker_address()
            ) from None
        except messaging.MessagingTimeout:
            outages.MANAGER.failed(
                f"{method} got no answer within {timeout} s"
            )
            raise exceptions.ManagerTimeout(
                timeout=timeout, advice=_retry_advice(ctxt)
            ) from None
        outages.BROKER.answered()
        outages.MANAGER.answered()
        return result


#: How a call fails when no connection to the broker could be made
#: (oslo.messaging lets kombu's own error through at times).
_SEND_FAILURES = (
    messaging.MessageDeliveryFailure,
    kombu.exceptions.OperationalError,
    ConnectionError,
)

#: Seconds past its timeout a call may take before it is given up.
_DEADLINE_GRACE = 0.5
_SENDERS = 64
_sender_pool = []


def _senders():
    """The threads calls are sent from (made on first use)."""
    with _reply_queue_lock:
        if not _sender_pool:
            _sender_pool.append(
                concurrent.futures.ThreadPoolExecutor(
                    _SENDERS, thread_name_prefix="rpc-send"
                )
            )
        return _sender_pool[0]


#: Seconds a call waits for the queue of the answers to be set up.
_REPLY_QUEUE_WAIT = 1.0
_reply_queue = {"thread": None, "ready": threading.Event()}
_reply_queue_lock = threading.Lock()


def _reply_queue_ready(wait):
    """Is the queue the answers come back on set up (waiting up to
    ``wait`` seconds for it)?

    oslo.messaging sets it up on the first call, retrying to connect for
    as long as the broker is away, and holds every other call meanwhile.
    Climate sets it up on a thread of its own instead, started here the
    first time, so that a call never waits for it longer than ``wait``.
    Once set up, oslo.messaging reconnects it by itself.
    """
    ready = _reply_queue["ready"]
    if ready.is_set():
        return True
    driver = get_transport()._driver
    with _reply_queue_lock:
        thread = _reply_queue["thread"]
        if thread is None or not thread.is_alive():
            # The driver's private method, for want of a public one.
            thread = threading.Thread(
                target=_set_up_reply_queue,
                args=(driver, ready),
                name="rpc-reply-queue",
                daemon=True,
            )
            _reply_queue["thread"] = thread
            thread.start()
    return ready.wait(wait)


def _reply_queue_pending():
    thread = _reply_queue["thread"]
    return (
        thread is not None
        and thread.is_alive()
        and not _reply_queue["ready"].is_set()
    )


def _set_up_reply_queue(driver, ready):
    get_reply_q = getattr(driver, "_get_reply_q", None)
    if get_reply_q is not None:
        get_reply_q()
    ready.set()


def _retry_advice(ctxt):
    if getattr(ctxt, "idempotency_key", None):
        return ""
    return (
        " (this request had none: look for the change before sending it again)"
    )


def get_server(topic, server, endpoints):
    """An RPC server for ``topic`` on the broker, serving ``endpoints``.

    Each endpoint answers the calls of its ``target``'s namespace and
    compatible versions, as oslo.messaging's dispatcher decides.

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
    """Make ``endpoint`` answer in-process calls to ``topic``.

    Several endpoints may serve one topic, each in the namespace and
    version of its ``target`` (none: namespace None, any version), as
    several endpoints of one oslo.messaging server do.  An endpoint
    registered later replaces the one of its namespace.
    """
    namespace = _namespace(endpoint)
    with _lock:
        others = [
            e
            for e in _local_endpoints.get(topic, [])
            if _namespace(e) != namespace
        ]
        _local_endpoints[topic] = [*others, endpoint]


def _namespace(endpoint):
    target = getattr(endpoint, "target", None)
    return target.namespace if target is not None else None


def unregister_local_endpoint(topic):
    """Stop answering in-process calls to ``topic`` (every endpoint)."""
    with _lock:
        _local_endpoints.pop(topic, None)


def _version_is_compatible(implemented, requested):
    """Can an endpoint at version ``implemented`` answer ``requested``?

    As oslo.messaging decides: same major version, and a minor (then
    revision) no higher than the endpoint's.
    """
    if implemented is None:
        return True
    if requested is None:
        return False
    imp = [int(part) for part in implemented.split(".")] + [0, 0]
    req = [int(part) for part in requested.split(".")] + [0, 0]
    return imp[0] == req[0] and tuple(req[1:3]) <= tuple(imp[1:3])


def _dispatch(topic, namespace, version, method):
    """The handler for ``method``, chosen as oslo.messaging's dispatcher
    chooses it among the endpoints of ``topic``.

    :raises MessagingTimeout: no endpoint serves ``topic`` here.
    :raises NoSuchMethod: an endpoint of that namespace and version
        exists, but does not expose ``method``.
    :raises UnsupportedVersion: no endpoint of that namespace answers
        that version.
    """
    endpoints = _local_endpoints.get(topic)
    if not endpoints:
        raise messaging.MessagingTimeout(
            f"no manager is running in this process for {topic}"
        )
    found_compatible = False
    for endpoint in endpoints:
        target = getattr(endpoint, "target", None) or messaging.Target()
        if target.namespace != namespace or not _version_is_compatible(
            target.version, version
        ):
            continue
        handler = getattr(endpoint, method, None)
        if hasattr(handler, "exposed"):
            return handler
        found_compatible = True
    if found_compatible:
        return messaging.rpc.dispatcher.NoSuchMethod(method)
    return messaging.rpc.dispatcher.UnsupportedVersion(version, method=method)


class InProcessClient:
    """Calls an endpoint of this process as if it sat behind a broker.

    Context, arguments and result are serialized and sent through JSON, and
    an exception is carried the way oslo.messaging carries it, so code that
    works here works over RabbitMQ.  Only ``call`` is offered: Climate's API
    has no casts.  Calls go to the endpoint of the client's namespace whose
    version is compatible, as oslo.messaging's dispatcher would choose it.
    """

    def __init__(self, topic, version=None, namespace=None):
        self._topic = topic
        self._version = version
        self._namespace = namespace
        self._serializer = RequestContextSerializer()

    def prepare(self, version=None, namespace=None, **kwargs):
        """A client for another version or namespace (other options of
        oslo.messaging's ``prepare``, such as ``timeout``, do not apply)."""
        return InProcessClient(
            self._topic,
            version or self._version,
            namespace if namespace is not None else self._namespace,
        )

    def can_send_version(self, version):
        return True

    def call(self, ctxt, method, **kwargs):
        # The call runs in the caller's thread: whatever context the
        # manager's side makes current must not outlive it there.
        with climate_context.restored():
            return self._call(ctxt, method, **kwargs)

    def _call(self, ctxt, method, **kwargs):
        handler = _dispatch(
            self._topic, self._namespace, self._version, method
        )
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
            if isinstance(handler, Exception):
                # Refused on the server side, as the dispatcher does; a
                # broker carries the refusal back as a RemoteError.
                raise handler
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
