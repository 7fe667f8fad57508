"""climate.rpc: the in-process client and oslo.messaging behave the same.

The in-process client is what the embedded mode uses; a few tests run the
same calls through oslo.messaging's real RPC server and client over its
``fake:/`` transport (about 50 ms a call) to show both modes agree.
"""

import datetime
import uuid

import oslo_messaging as messaging
import pytest

from climate import context as climate_context
from climate import exceptions, rpc

WHEN = datetime.datetime(2030, 12, 26, 12, 0, 5)


class Unexpected(Exception):
    """Not in climate.exceptions: a programming error in the manager."""


class Endpoint:
    target = messaging.Target(version="1.0")

    def __init__(self):
        self.calls = []

    @messaging.expose
    @messaging.expected_exceptions(exceptions.ClimateException)
    def echo(self, context, **kwargs):
        self.calls.append((context, kwargs))
        return {
            "received": kwargs,
            "when": WHEN,
            "project": context.project_id,
        }

    @messaging.expose
    @messaging.expected_exceptions(exceptions.ClimateException)
    def conflict(self, context):
        self.calls.append((context, {}))
        raise exceptions.InvalidStateTransition(
            kind="Lease", id="l1", current="STARTING", target="DELETING"
        )

    @messaging.expose
    def not_found_undeclared(self, context):
        # Not declared expected: logged on the server, same class back.
        raise exceptions.LeaseNotFound(id="l2")

    @messaging.expose
    @messaging.expected_exceptions(exceptions.ClimateException)
    def crash(self, context):
        raise Unexpected("kaput")

    @messaging.expose
    def broken(self, context):
        raise ValueError("bad value")

    def hidden(self, context):
        self.calls.append((context, {"hidden": True}))
        return "secret"


@pytest.fixture
def topic():
    return f"climate.test.{uuid.uuid4().hex}"


@pytest.fixture
def ctxt():
    return climate_context.RequestContext(
        user_id="u1", project_id="p1", roles=["member"], overwrite=False
    )


@pytest.fixture
def in_process(topic):
    endpoint = Endpoint()
    rpc.register_local_endpoint(topic, endpoint)
    client = rpc.get_client(topic, "1.0")
    assert isinstance(client, rpc.InProcessClient)
    yield endpoint, client
    rpc.unregister_local_endpoint(topic)


@pytest.fixture
def fake_broker(config, topic):
    config.config(transport_url="fake:/")
    assert rpc.uses_broker()
    endpoint = Endpoint()
    server = rpc.get_server(topic, "test-host", [endpoint])
    server.start()
    client = rpc.get_client(topic, "1.0").prepare(timeout=5)
    assert not isinstance(client, rpc.InProcessClient)
    yield endpoint, client
    server.stop()
    server.wait()


@pytest.fixture(params=["in-process", "fake-broker"])
def both(request):
    return request.getfixturevalue(
        "in_process" if request.param == "in-process" else "fake_broker"
    )


def test_no_transport_url_means_in_process():
    assert not rpc.uses_broker()
    assert isinstance(rpc.get_client("any", "1.0"), rpc.InProcessClient)


def test_payload_goes_through_json(in_process, ctxt):
    endpoint, client = in_process
    result = client.prepare(version="1.0").call(
        ctxt,
        "echo",
        when=WHEN,
        numbers=(1, 2),
        nested={"a": [WHEN]},
    )
    server_ctxt, received = endpoint.calls[0]
    # Datetimes cross as ISO strings, tuples as lists, in both directions.
    assert received == {
        "when": "2030-12-26T12:00:05.000000",
        "numbers": [1, 2],
        "nested": {"a": ["2030-12-26T12:00:05.000000"]},
    }
    assert result == {
        "received": received,
        "when": "2030-12-26T12:00:05.000000",
        "project": "p1",
    }
    # The endpoint gets a rebuilt context, not the caller's object.
    assert isinstance(server_ctxt, climate_context.RequestContext)
    assert server_ctxt is not ctxt
    assert server_ctxt.project_id == "p1"
    assert server_ctxt.user_id == "u1"
    assert server_ctxt.roles == ["member"]


def test_result_is_a_copy(in_process, ctxt):
    endpoint, client = in_process
    payload = {"list": [1]}
    result = client.call(ctxt, "echo", payload=payload)
    result["received"]["payload"]["list"].append(2)
    assert endpoint.calls[0][1]["payload"] == {"list": [1]}
    assert payload == {"list": [1]}


def test_payload_that_is_not_json_is_refused_before_the_call(in_process, ctxt):
    endpoint, client = in_process
    with pytest.raises(ValueError, match="to primitive"):
        client.call(ctxt, "echo", thing=object())
    assert endpoint.calls == []


def test_both_modes_agree_on_results_and_errors(both, ctxt):
    endpoint, client = both
    result = client.call(ctxt, "echo", when=WHEN, items=("x",))
    assert result == {
        "received": {"when": "2030-12-26T12:00:05.000000", "items": ["x"]},
        "when": "2030-12-26T12:00:05.000000",
        "project": "p1",
    }
    assert endpoint.calls[0][0].project_id == "p1"

    with pytest.raises(exceptions.InvalidStateTransition) as info:
        client.call(ctxt, "conflict")
    error = info.value
    assert isinstance(error, exceptions.Conflict)
    assert error.name == "InvalidStateTransition"
    assert (
        error.message == "Lease l1 is STARTING and cannot become DELETING now"
    )
    assert error.code == 409
    assert "Traceback" not in error.message


def test_expected_error_in_process_is_rebuilt_like_oslo_messaging(
    in_process, ctxt
):
    _endpoint, client = in_process
    with pytest.raises(exceptions.InvalidStateTransition) as info:
        client.call(ctxt, "conflict")
    error = info.value
    # Rebuilt from its wire form, as a broker client would.
    assert type(error).__name__ == "InvalidStateTransition_Remote"
    assert error.kwargs["current"] == "STARTING"
    assert "Traceback" in str(error)


def test_undeclared_climate_error_comes_back_as_its_class(in_process, ctxt):
    _endpoint, client = in_process
    with pytest.raises(exceptions.LeaseNotFound) as info:
        client.call(ctxt, "not_found_undeclared")
    assert info.value.message == "Lease l2 could not be found"
    assert info.value.code == 404


def test_unexpected_error_comes_back_as_remote_error(in_process, ctxt):
    _endpoint, client = in_process
    with pytest.raises(messaging.RemoteError) as info:
        client.call(ctxt, "crash")
    assert info.value.exc_type == "Unexpected"
    assert info.value.value == "kaput"
    assert not isinstance(info.value, exceptions.ClimateException)


def test_builtin_error_comes_back_as_its_class_like_oslo_messaging(
    in_process, ctxt
):
    # oslo.messaging rebuilds built-in exceptions too, with the remote
    # traceback in their message; the API answers them with a 500.
    _endpoint, client = in_process
    with pytest.raises(ValueError) as info:
        client.call(ctxt, "broken")
    assert not isinstance(info.value, exceptions.ClimateException)
    assert str(info.value).startswith("bad value\n")
    assert "Traceback" in str(info.value)


@pytest.mark.parametrize("method", ["hidden", "no_such_method", "__init__"])
def test_method_not_exposed_is_refused(in_process, ctxt, method):
    endpoint, client = in_process
    with pytest.raises(Exception) as info:
        client.call(ctxt, method)
    refused = info.value
    # As a broker carries the dispatcher's refusal back to the caller.
    assert isinstance(refused, messaging.RemoteError), type(refused)
    assert refused.exc_type == "NoSuchMethod"
    assert method in refused.value
    assert endpoint.calls == []


def test_no_endpoint_registered_times_out(topic, ctxt):
    client = rpc.get_client(topic, "1.0")
    with pytest.raises(messaging.MessagingTimeout) as info:
        client.call(ctxt, "echo")
    assert topic in str(info.value)


def test_unregistered_endpoint_no_longer_answers(in_process, topic, ctxt):
    _endpoint, client = in_process
    rpc.unregister_local_endpoint(topic)
    with pytest.raises(messaging.MessagingTimeout):
        client.call(ctxt, "echo")


def test_cleanup_forgets_endpoints(in_process, ctxt):
    _endpoint, client = in_process
    rpc.cleanup()
    with pytest.raises(messaging.MessagingTimeout):
        client.call(ctxt, "echo")


def test_broker_transport_rebuilds_climate_exceptions(config):
    # A broker client turns a remote error back into its class only for the
    # modules its transport allows; the fake driver hands the exception
    # object over without that step, so check the transport's list itself.
    config.config(transport_url="fake:/")
    transport = rpc.get_transport()
    assert transport is rpc.get_transport()
    assert "climate.exceptions" in transport._driver._allowed_remote_exmods


def test_in_process_call_leaves_the_callers_current_context(in_process, ctxt):
    from oslo_context import context as oslo_context

    endpoint, client = in_process
    assert oslo_context.get_current() is None
    client.call(ctxt, "echo", value=1)
    # The manager's side ran with the caller's identity as its current
    # context...
    seen = endpoint.calls[-1][0]
    assert seen.project_id == "p1"
    # ...which does not outlive the call in the caller's thread.
    assert oslo_context.get_current() is None
    with climate_context.current(ctxt):
        client.call(ctxt, "echo", value=2)
        assert oslo_context.get_current() is ctxt
    assert oslo_context.get_current() is None


# Target namespaces and versions -------------------------------------------


class PluginEndpoint:
    """A plugin's endpoint: its own namespace and version history."""

    target = messaging.Target(namespace="test_plugin", version="1.2")

    @messaging.expose
    def echo(self, context, **kwargs):
        return {"plugin": kwargs}


class ManagerEndpoint(Endpoint):
    target = messaging.Target(version="2.1")


@pytest.fixture
def namespaced_in_process(topic):
    rpc.register_local_endpoint(topic, ManagerEndpoint())
    rpc.register_local_endpoint(topic, PluginEndpoint())
    yield
    rpc.unregister_local_endpoint(topic)


@pytest.fixture
def namespaced_fake_broker(config, topic):
    config.config(transport_url="fake:/")
    server = rpc.get_server(
        topic, "test-host", [ManagerEndpoint(), PluginEndpoint()]
    )
    server.start()
    yield
    server.stop()
    server.wait()


@pytest.fixture(params=["in-process", "fake-broker"])
def namespaced(request):
    request.getfixturevalue(
        "namespaced_in_process"
        if request.param == "in-process"
        else "namespaced_fake_broker"
    )


def _refusal(error):
    """The dispatcher's refusal: a broker carries it as a RemoteError;
    oslo.messaging's fake driver hands over the exception itself."""
    if isinstance(error, messaging.RemoteError):
        return error.exc_type
    return type(error).__name__


def _client(topic, version, namespace=None):
    return rpc.get_client(topic, version, namespace=namespace).prepare(
        timeout=5
    )


def test_each_namespace_reaches_its_own_endpoint(namespaced, topic, ctxt):
    core = _client(topic, "2.0")
    plugin = _client(topic, "1.0", namespace="test_plugin")

    assert core.call(ctxt, "echo", a=1)["received"] == {"a": 1}
    assert plugin.call(ctxt, "echo", a=1) == {"plugin": {"a": 1}}
    # prepare() switches namespace and version, as oslo.messaging's does.
    switched = core.prepare(namespace="test_plugin", version="1.2")
    assert switched.call(ctxt, "echo", b=2) == {"plugin": {"b": 2}}


@pytest.mark.parametrize(
    ("namespace", "version"),
    [
        (None, "1.1"),  # an older major version of the manager's API
        (None, "2.2"),  # a newer minor version than the endpoint's
        ("test_plugin", "2.0"),
        ("no_such_plugin", "1.0"),
    ],
)
def test_incompatible_version_or_unknown_namespace_is_refused(
    namespaced, topic, ctxt, namespace, version
):
    client = _client(topic, version, namespace=namespace)
    with pytest.raises(Exception) as info:
        client.call(ctxt, "echo")
    assert _refusal(info.value) == "UnsupportedVersion"


def test_method_of_another_namespace_is_not_found(namespaced, topic, ctxt):
    plugin = _client(topic, "1.0", namespace="test_plugin")
    with pytest.raises(Exception) as info:
        plugin.call(ctxt, "conflict")
    assert _refusal(info.value) == "NoSuchMethod"
