"""Lease notifications: the messagingv2 driver on oslo.messaging's in-memory
transport with a real notification listener, and the test driver.
(tests/services/test_notifications.py listens on RabbitMQ.)"""

import datetime
import queue

import oslo_messaging as messaging
import pytest
from oslo_messaging.notify import _impl_test

from climate import exceptions
from climate.manager import service
from tests import helpers

ALICE = {"X-Project-Id": "project-a", "X-User-Id": "alice"}


class Recorder:
    """A notification endpoint that queues what it hears."""

    def __init__(self):
        self.heard = queue.Queue()

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self.heard.put((publisher_id, event_type, payload, ctxt))

    def next(self, timeout=10):
        return self.heard.get(timeout=timeout)


@pytest.fixture
def messagingv2(config):
    config.config(
        driver=["messagingv2"],
        transport_url="fake:/",
        group="oslo_messaging_notifications",
    )


@pytest.fixture
def listener(messagingv2, manager):
    """A listener on the manager's own in-memory notification transport."""
    recorder = Recorder()
    server = messaging.get_notification_listener(
        manager.notifier.transport,
        [messaging.Target(topic="notifications")],
        [recorder],
        executor="threading",
    )
    server.start()
    yield recorder
    server.stop()
    server.wait()


# listener comes first: the manager must be built with the driver set.


def test_each_write_and_event_is_announced_with_the_lease(
    listener, api, config
):
    config.config(min_lease_duration=0, group="manager")
    end = helpers.utcnow() + datetime.timedelta(seconds=2)
    created = api.post(
        "/v1/leases",
        json=helpers.lease_body("short", start="now", end=end.isoformat()),
        headers=ALICE,
    ).json["lease"]

    publisher, event_type, payload, ctxt = listener.next()
    assert (publisher, event_type) == ("climate.manager", "lease.create")
    # The payload is the lease as the API showed it.
    assert payload == created
    assert ctxt["project_id"] == "project-a"
    assert ctxt["user"] == "alice"

    seen = [listener.next()[1:3] for _ in range(3)]
    assert [event_type for event_type, _ in seen] == [
        "lease.event.start_lease",
        "lease.event.before_end_lease",
        "lease.event.end_lease",
    ]
    assert [payload["status"] for _, payload in seen] == [
        "ACTIVE",
        "ACTIVE",
        "TERMINATED",
    ]
    assert {payload["id"] for _, payload in seen} == {created["id"]}


def test_update_and_delete_are_announced(listener, api):
    lease = api.post(
        "/v1/leases",
        json=helpers.lease_body(
            "later", start="2030-12-26 12:00", end="2030-12-27 12:00"
        ),
        headers=ALICE,
    ).json["lease"]
    assert listener.next()[1] == "lease.create"

    renamed = api.put(
        f"/v1/leases/{lease['id']}", json={"name": "renamed"}, headers=ALICE
    ).json["lease"]
    _, event_type, payload, _ = listener.next()
    assert (event_type, payload) == ("lease.update", renamed)

    api.delete(f"/v1/leases/{lease['id']}", headers=ALICE)
    _, event_type, payload, _ = listener.next()
    assert (event_type, payload["id"], payload["name"]) == (
        "lease.delete",
        lease["id"],
        "renamed",
    )


def test_a_refused_write_is_not_announced(listener, api):
    response = api.post(
        "/v1/leases",
        json=helpers.lease_body("bad", start="2020-01-01 00:00"),
        headers=ALICE,
    )
    assert response.status_code == 400

    with pytest.raises(queue.Empty):
        listener.next(timeout=0.5)


def test_the_test_driver_records_them_too(api, config):
    config.config(driver=["test"], group="oslo_messaging_notifications")
    _impl_test.reset()
    manager = service.ManagerService()
    manager.start()
    try:
        from climate.api import app

        app.create_app().test_client().post(
            "/v1/leases",
            json=helpers.lease_body(
                "x", start="2030-12-26 12:00", end="2030-12-27 12:00"
            ),
        )
    finally:
        manager.stop()

    ((_, message, priority, _),) = _impl_test.NOTIFICATIONS
    assert (message["event_type"], priority) == ("lease.create", "INFO")
    assert message["publisher_id"] == "climate.manager"
    assert message["payload"]["name"] == "x"


def test_a_broker_driver_without_a_broker_stops_the_manager(database, config):
    config.config(driver=["messagingv2"], group="oslo_messaging_notifications")

    with pytest.raises(exceptions.ConfigurationError) as caught:
        service.ManagerService()

    assert "neither [oslo_messaging_notifications] transport_url" in (
        caught.value.message
    )
