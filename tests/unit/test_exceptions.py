"""Climate's exception hierarchy: templates, codes and RPC round trips."""

import sys

import oslo_messaging
import pytest
from oslo_messaging._drivers import common as rpc_common

from climate import exceptions


def _through_rpc(exc, allowed=("climate.exceptions",)):
    """``exc`` as oslo.messaging rebuilds it on the caller's side."""
    try:
        raise exc
    except Exception:
        failure = rpc_common.serialize_remote_exception(sys.exc_info())
    return rpc_common.deserialize_remote_exception(failure, list(allowed))


@pytest.mark.parametrize(
    "cls,kwargs,message,code",
    [
        (exceptions.ClimateException, {}, "An unknown error occurred.", 500),
        (exceptions.Invalid, {"reason": "bad"}, "Invalid input: bad", 400),
        (exceptions.InvalidInput, {"reason": "bad"}, "bad", 400),
        (
            exceptions.InvalidDate,
            {"field": "start_date", "value": "soon"},
            "Invalid start_date 'soon': expected 'now', 'YYYY-MM-DD HH:MM' "
            "(UTC) or an ISO 8601 date and time",
            400,
        ),
        (exceptions.InvalidPeriod, {"reason": "too short"}, "too short", 400),
        (
            exceptions.UnsupportedResourceType,
            {"resource_type": "x:y", "supported": "test:recorder"},
            "Unknown resource_type 'x:y'; this service supports: "
            "test:recorder",
            400,
        ),
        (
            exceptions.MalformedRequestBody,
            {"reason": "not JSON"},
            "Malformed request body: not JSON",
            400,
        ),
        (
            exceptions.InvalidMarker,
            {"marker": "m1"},
            "Marker m1 does not name a lease in this listing",
            400,
        ),
        (exceptions.Forbidden, {"reason": "no"}, "Not allowed: no", 403),
        (
            exceptions.NotFound,
            {"object": "Host", "id": "h1"},
            "Host h1 could not be found",
            404,
        ),
        (
            exceptions.LeaseNotFound,
            {"id": "l1"},
            "Lease l1 could not be found",
            404,
        ),
        (
            exceptions.ReservationNotFound,
            {"id": "r1"},
            "Reservation r1 could not be found",
            404,
        ),
        (
            exceptions.EventNotFound,
            {"id": "e1"},
            "Event e1 could not be found",
            404,
        ),
        (exceptions.Conflict, {"reason": "busy"}, "Conflict: busy", 409),
        (
            exceptions.LeaseNameAlreadyExists,
            {"name": "foo"},
            "A lease named 'foo' already exists in this project",
            409,
        ),
        (exceptions.InvalidState, {"reason": "started"}, "started", 409),
        (
            exceptions.InvalidStateTransition,
            {"kind": "Lease", "id": "l1", "current": "A", "target": "B"},
            "Lease l1 is A and cannot become B now",
            409,
        ),
        (
            exceptions.NotEnoughResourcesAvailable,
            {"reason": "no host"},
            "Not enough resources available: no host",
            409,
        ),
        (
            exceptions.RequestTooLarge,
            {"limit": 1024},
            "Request body is larger than the limit of 1024 bytes",
            413,
        ),
        (exceptions.ConfigurationError, {"reason": "bad"}, "bad", 500),
    ],
)
def test_template_code_and_kwargs(cls, kwargs, message, code):
    error = cls(**kwargs)
    assert error.message == message
    assert str(error) == message
    assert error.code == code
    assert error.name == cls.__name__
    for key, value in kwargs.items():
        assert error.kwargs[key] == value


@pytest.mark.parametrize(
    "cls,base",
    [
        (exceptions.InvalidInput, exceptions.Invalid),
        (exceptions.InvalidDate, exceptions.Invalid),
        (exceptions.InvalidPeriod, exceptions.Invalid),
        (exceptions.UnsupportedResourceType, exceptions.Invalid),
        (exceptions.MalformedRequestBody, exceptions.Invalid),
        (exceptions.InvalidMarker, exceptions.Invalid),
        (exceptions.LeaseNotFound, exceptions.NotFound),
        (exceptions.ReservationNotFound, exceptions.NotFound),
        (exceptions.EventNotFound, exceptions.NotFound),
        (exceptions.LeaseNameAlreadyExists, exceptions.Conflict),
        (exceptions.InvalidStateTransition, exceptions.InvalidState),
        (exceptions.InvalidState, exceptions.Conflict),
        (exceptions.NotEnoughResourcesAvailable, exceptions.Conflict),
    ],
)
def test_a_subclass_keeps_its_base_meaning(cls, base):
    assert issubclass(cls, base)
    assert issubclass(base, exceptions.ClimateException)
    assert cls.code == base.code


def test_explicit_message_wins_over_template():
    error = exceptions.LeaseNotFound("gone for good", id="l1")
    assert error.message == "gone for good"
    assert error.kwargs["id"] == "l1"


def test_code_is_recorded_in_kwargs():
    # oslo.messaging rebuilds the exception from its kwargs.
    assert exceptions.LeaseNotFound(id="l1").kwargs["code"] == 404


def test_missing_argument_falls_back_to_the_template():
    error = exceptions.LeaseNotFound()
    assert error.message == exceptions.LeaseNotFound.msg_fmt
    error = exceptions.RequestTooLarge(limit="lots")
    assert error.message == exceptions.RequestTooLarge.msg_fmt


def test_rebuilt_by_oslo_messaging_keeps_class_message_code_and_name():
    original = exceptions.InvalidStateTransition(
        kind="Lease", id="l1", current="STARTING", target="DELETING"
    )
    remote = _through_rpc(original)
    assert isinstance(remote, exceptions.InvalidStateTransition)
    assert type(remote).__name__ == "InvalidStateTransition_Remote"
    assert remote.name == "InvalidStateTransition"
    assert remote.message == original.message
    assert remote.code == 409
    assert remote.kwargs["current"] == "STARTING"
    # str() of the rebuilt class carries the remote traceback; the message
    # never does.
    assert "Traceback" in str(remote)
    assert "Traceback" not in remote.message
    assert "\n" not in remote.message


def test_rebuilt_twice_still_strips_the_suffix():
    remote = _through_rpc(_through_rpc(exceptions.LeaseNotFound(id="l1")))
    assert isinstance(remote, exceptions.LeaseNotFound)
    assert remote.name == "LeaseNotFound"
    assert remote.message == "Lease l1 could not be found"
    assert "Traceback" not in remote.message


def test_rebuilt_with_explicit_message_keeps_it():
    remote = _through_rpc(exceptions.InvalidInput("name is required"))
    assert isinstance(remote, exceptions.InvalidInput)
    assert remote.message == "name is required"
    assert remote.code == 400


def test_not_allowed_module_comes_back_as_remote_error():
    remote = _through_rpc(exceptions.LeaseNotFound(id="l1"), allowed=())
    assert isinstance(remote, oslo_messaging.RemoteError)
    assert remote.exc_type == "LeaseNotFound"
