"""climate.common.views: a reservation's type fields go through its
plugin's view."""

import datetime
import json
import uuid

from climate.common import views

CREATED = datetime.datetime(2030, 1, 1, 12, 0)


def _row(resource_type, **fields):
    return {
        "id": "r1",
        "lease_id": "l1",
        "resource_type": resource_type,
        "resource_id": "x",
        "status": "pending",
        "missing_resources": False,
        "resources_changed": False,
        "created_at": CREATED,
        "updated_at": None,
        **fields,
    }


def test_a_reservation_without_type_fields_shows_its_columns():
    out = views.reservation(_row("test:plain"))
    assert list(out) == [
        "id",
        "lease_id",
        "status",
        "resource_id",
        "resource_type",
        "missing_resources",
        "resources_changed",
        "created_at",
        "updated_at",
    ]
    assert out["created_at"] == "2030-01-01 12:00:00"


def test_type_fields_go_through_the_registered_view_after_the_columns():
    resource_type = f"test:view-{uuid.uuid4().hex[:8]}"
    views.register_reservation_view(
        resource_type,
        lambda fields: {"size": fields["size"], "unit": "GB"},
    )
    out = views.reservation(_row(resource_type, size=3, internal="x"))
    assert list(out)[-2:] == ["size", "unit"]
    assert out["size"] == 3
    assert "internal" not in out


def test_type_fields_without_a_view_are_shown_as_they_are():
    out = views.reservation(_row("test:unregistered", b=1, a=2))
    assert list(out)[-2:] == ["b", "a"]


def test_the_host_view_keeps_the_wire_order_of_the_host_fields():
    from climate.plugins.hosts import plugin

    fields = {
        "on_end": "default",
        "before_end": "default",
        "resource_properties": "",
        "hypervisor_properties": "",
        "max": 2,
        "min": 1,
    }
    views.register_reservation_view(
        "physical:host", plugin.PhysicalHostPlugin.view
    )
    out = views.reservation(_row("physical:host", **fields))
    assert json.dumps(out).endswith(
        '"min": 1, "max": 2, "hypervisor_properties": "", '
        '"resource_properties": "", "before_end": "default", '
        '"on_end": "default"}'
    )
