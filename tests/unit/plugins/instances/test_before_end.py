"""The before-end stage of virtual:instance reservations on the local
compute driver and the real database: the ``before_end`` field
(``default`` | ``snapshot``) and the tenant's warning
``lease.reservation.before_end`` at the lease's ``before_end_date``
(oslo.messaging's in-memory ``test`` notification driver).  The local
driver runs no servers: nothing to snapshot; snapshots in Nova are
tested in tests/unit/plugins/instances/test_nova_servers.py (fake Nova)
and tests/services/test_nova_instances.py (real Nova)."""

import datetime

import pytest
from oslo_messaging.notify import _impl_test

from climate import exceptions
from climate.plugins.instances import notices
from tests.unit.plugins.instances.conftest import END, START, user

MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture(autouse=True)
def _notifications(config):
    config.config(driver=["test"], group="oslo_messaging_notifications")
    _impl_test.reset()
    notices.reset()
    yield
    notices.reset()


@pytest.fixture
def two_hosts(add_host):
    return [add_host(n)["hypervisor_hostname"] for n in ("h1", "h2")]


def _told():
    return [
        (m["publisher_id"], m["event_type"], m["priority"], m["payload"])
        for _, m, _, _ in _impl_test.NOTIFICATIONS
        if m["event_type"] == notices.BEFORE_END
    ]


def test_before_end_defaults_to_default_and_takes_snapshot(
    two_hosts, instances, lease_manager
):
    plain = instances(name="plain")
    snap = instances(name="snap", before_end="snapshot", on_end="shelve")

    assert plain["reservations"][0]["before_end"] == "default"
    shown = lease_manager.get(user(), snap["id"])["reservations"][0]
    assert (shown["before_end"], shown["on_end"]) == ("snapshot", "shelve")


def test_an_unknown_before_end_is_a_400_naming_the_choices(
    two_hosts, instances, lease_manager
):
    with pytest.raises(exceptions.Invalid) as info:
        instances(before_end="backup")

    assert info.value.code == 400
    assert "before_end must be one of default, snapshot, not 'backup'" in (
        info.value.message
    )
    assert lease_manager.list(user()) == []


def test_an_update_changes_before_end_alone(
    two_hosts, instances, lease_manager
):
    lease = instances(on_end="snapshot_then_delete")
    reservation_id = lease["reservations"][0]["id"]

    lease_manager.update(
        user(),
        lease["id"],
        {"reservations": [{"id": reservation_id, "before_end": "snapshot"}]},
    )
    shown = lease_manager.get(user(), lease["id"])["reservations"][0]
    assert (shown["before_end"], shown["on_end"]) == (
        "snapshot",
        "snapshot_then_delete",
    )

    with pytest.raises(exceptions.Invalid):
        lease_manager.update(
            user(),
            lease["id"],
            {"reservations": [{"id": reservation_id, "before_end": 1}]},
        )
    lease_manager.update(
        user(),
        lease["id"],
        {"reservations": [{"id": reservation_id, "before_end": "default"}]},
    )
    shown = lease_manager.get(user(), lease["id"])["reservations"][0]
    assert (shown["before_end"], shown["on_end"]) == (
        "default",
        "snapshot_then_delete",
    )


@pytest.mark.parametrize("before_end", ["default", "snapshot"])
def test_the_tenant_is_warned_at_the_before_end_date(
    two_hosts, instances, run_at, before_end
):
    lease = instances(amount=2, before_end=before_end, project_id="p7")
    reservation_id = lease["reservations"][0]["id"]
    run_at(START)
    assert _told() == []

    # The default before_end_date: [manager] minutes_before_end_lease (60).
    run_at(END - 61 * MINUTE)
    assert _told() == []
    run_at(END - 60 * MINUTE)

    ((publisher, event_type, priority, payload),) = _told()
    assert publisher == "climate.virtual_instance"
    assert priority == "WARN"
    assert payload == {
        "lease_id": lease["id"],
        "lease_name": "lease",
        "reservation_id": reservation_id,
        "end_date": END.isoformat(),
        "before_end": before_end,
        "on_end": "delete",
        # The local driver runs no server: none to snapshot.
        "snapshots": [],
    }
    (context,) = [
        c
        for c, m, _, _ in _impl_test.NOTIFICATIONS
        if m["event_type"] == notices.BEFORE_END
    ]
    assert (context["project_id"], context["user"]) == ("p7", "u1")

    run_at(END)
    assert len(_told()) == 1
