"""Lease notifications on the real RabbitMQ: a notification listener on a
fresh vhost hears every lease write and event, with the lease as the API
shows it."""

import datetime
import queue

import oslo_messaging as messaging
import pytest

from tests import helpers

pytestmark = pytest.mark.services

ALICE = {"X-Project-Id": "project-a", "X-User-Id": "alice"}


class Recorder:
    def __init__(self):
        self.heard = queue.Queue()

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self.heard.put((publisher_id, event_type, payload))

    def next(self, timeout=20):
        return self.heard.get(timeout=timeout)


@pytest.fixture
def listener(config, transport_url):
    """Notifications go to the vhost (RPC stays in process); a listener of
    its own connection hears them."""
    config.config(
        driver=["messagingv2"],
        transport_url=transport_url,
        group="oslo_messaging_notifications",
    )
    transport = messaging.get_notification_transport(
        config.conf, url=transport_url
    )
    recorder = Recorder()
    server = messaging.get_notification_listener(
        transport,
        [messaging.Target(topic="notifications")],
        [recorder],
        executor="threading",
    )
    server.start()
    yield recorder
    server.stop()
    server.wait()
    transport.cleanup()


# listener first: the manager is built with the notification driver set.
def test_lease_writes_and_events_reach_a_listener(listener, api, config):
    config.config(min_lease_duration=0, group="manager")
    end = helpers.utcnow() + datetime.timedelta(seconds=2)
    short = api.post(
        "/v1/leases",
        json=helpers.lease_body("short", start="now", end=end.isoformat()),
        headers=ALICE,
    ).json["lease"]

    publisher, event_type, payload = listener.next()
    assert (publisher, event_type) == ("climate.manager", "lease.create")
    assert payload == short
    seen = [listener.next()[1:] for _ in range(3)]
    assert [(t, p["id"], p["status"]) for t, p in seen] == [
        ("lease.event.start_lease", short["id"], "ACTIVE"),
        ("lease.event.before_end_lease", short["id"], "ACTIVE"),
        ("lease.event.end_lease", short["id"], "TERMINATED"),
    ]

    later = api.post(
        "/v1/leases",
        json=helpers.lease_body(
            "later", start="2030-12-26 12:00", end="2030-12-27 12:00"
        ),
        headers=ALICE,
    ).json["lease"]
    api.put(
        f"/v1/leases/{later['id']}", json={"prolong_for": "1d"}, headers=ALICE
    )
    api.delete(f"/v1/leases/{later['id']}", headers=ALICE)

    seen = [listener.next()[1:] for _ in range(3)]
    assert [(t, p["id"]) for t, p in seen] == [
        ("lease.create", later["id"]),
        ("lease.update", later["id"]),
        ("lease.delete", later["id"]),
    ]
    assert seen[1][1]["end_date"] == "2030-12-28T12:00:00.000000"
