"""The physical:host plugin's routes in the OpenAPI document, built from
the field tables and query lists its handlers validate with."""

from climate.api import openapi as oa
from climate.plugins.hosts import power
from climate.plugins.hosts.api import blocks, hosts, images

_OBJECT = {"type": "object"}
_TEXT = {"type": "string"}
_NULLABLE_TEXT = {"type": ["string", "null"]}
_NULLABLE_INTEGER = {"type": ["integer", "null"]}
HOST = {
    "type": "object",
    "required": ["id", "hypervisor_hostname"],
    "properties": {
        "id": _TEXT,
        "hypervisor_hostname": _TEXT,
        "reservable": {"type": "boolean"},
        "created_at": oa.DATE,
        "updated_at": oa.NULLABLE_DATE,
        # From the compute driver.
        "service_name": _NULLABLE_TEXT,
        "vcpus": _NULLABLE_INTEGER,
        "memory_mb": _NULLABLE_INTEGER,
        "local_gb": _NULLABLE_INTEGER,
        "hypervisor_type": _NULLABLE_TEXT,
        "hypervisor_version": _NULLABLE_INTEGER,
        "cpu_info": _NULLABLE_TEXT,
        "availability_zone": _NULLABLE_TEXT,
        "trust_id": {"type": "null"},
        # How it is loaded with images.
        "provisioning_driver": _TEXT,
        "os_module": _TEXT,
        "address": _NULLABLE_TEXT,
        "current_image_id": _NULLABLE_TEXT,
        "clean": {"type": "boolean"},
        "projects": {"type": "array", "items": _TEXT},
        # How it is powered (never the BMC's credentials).
        "power_driver": {
            "type": "string",
            "description": "Entry point of climate.power.drivers",
        },
        "power_address": _NULLABLE_TEXT,
        "power_state": {
            "enum": [
                power.ON,
                power.OFF,
                power.POWERING_ON,
                power.POWERING_OFF,
            ],
            "description": "As Climate last saw it",
        },
        "power_state_since": oa.NULLABLE_DATE,
        "health": {
            "enum": ["ok", "warning", "critical", power.DOWN],
            "description": "down: marked failed, not reservable until an "
            "operator makes it reservable again",
        },
    },
    # Its capabilities, flattened as top-level keys.
    "additionalProperties": {"type": "string"},
}
ALLOCATION = {
    "type": "object",
    "required": ["resource_id", "reservations"],
    "properties": {
        "resource_id": {"type": ["string", "integer"]},
        "reservations": {"type": "array", "items": _OBJECT},
    },
}
PROPERTY = {
    "type": "object",
    "required": ["property"],
    "properties": {
        "property": {"type": "string"},
        "private": {"type": "boolean"},
        "values": {"type": "array", "items": {"type": "string"}},
    },
}
CALENDAR = {
    "type": "object",
    "required": ["start", "end", "hosts"],
    "properties": {
        "start": oa.DATE,
        "end": oa.DATE,
        "hosts": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "capabilities", "busy"],
                "properties": {
                    "name": {"type": "string"},
                    "capabilities": {
                        "type": "object",
                        "additionalProperties": {"type": "string"},
                    },
                    "busy": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["start_date", "end_date", "own"],
                            "properties": {
                                "start_date": oa.DATE,
                                "end_date": oa.DATE,
                                "own": {"type": "boolean"},
                                "lease_id": {"type": "string"},
                                "lease_name": {"type": "string"},
                            },
                        },
                    },
                },
            },
        },
    },
}


def _list(key, items):
    return {
        "type": "object",
        "required": [key],
        "properties": {key: {"type": "array", "items": items}},
    }


def paths():
    """``{path: {method: operation}}`` of ``/v1/os-hosts``, ``/v1/images``
    and ``/v1/blocks``."""
    host_id = oa.path("host_id")
    free_form = {"type": "object"}
    return {
        "/calendar": {
            "get": {
                "summary": "The web calendar (an HTML page)",
                "responses": {
                    "200": {
                        "description": "The page",
                        "content": {
                            "text/html": {"schema": {"type": "string"}}
                        },
                    }
                },
            }
        },
        "/v1/os-hosts": {
            "get": oa.operation("List the hosts", {200: _list("hosts", HOST)}),
            "post": oa.operation(
                "Register a host: its name and capabilities",
                {201: oa.wrapped("host", HOST)},
                body=free_form,
            ),
        },
        "/v1/os-hosts/{host_id}": {
            "get": oa.operation(
                "Show a host", {200: oa.wrapped("host", HOST)}, host_id
            ),
            "put": oa.operation(
                "Change a host's capabilities",
                {200: oa.wrapped("host", HOST)},
                host_id,
                body=free_form,
            ),
            "delete": oa.operation("Remove a host", {204: None}, host_id),
        },
        "/v1/os-hosts/calendar": {
            "get": oa.operation(
                "The hosts and when they are busy",
                {200: oa.wrapped("calendar", CALENDAR)},
                oa.query(hosts.CALENDAR_ARGS),
            )
        },
        "/v1/os-hosts/properties": {
            "get": oa.operation(
                "The host capability names (and values)",
                {200: _list("resource_properties", PROPERTY)},
                oa.query(hosts.PROPERTY_ARGS),
            )
        },
        "/v1/os-hosts/properties/{name}": {
            "patch": oa.operation(
                "Make a capability private or public",
                {200: oa.wrapped("resource_property", PROPERTY)},
                oa.path("name"),
                body=oa.enveloped(
                    "resource_property",
                    oa.object_schema(hosts.PROPERTY_FIELDS),
                ),
            )
        },
        "/v1/os-hosts/allocations": {
            "get": oa.operation(
                "Which reservations hold which hosts",
                {200: _list("allocations", ALLOCATION)},
                oa.query(hosts.ALLOCATION_ARGS),
            )
        },
        "/v1/os-hosts/{host_id}/allocation": {
            "get": oa.operation(
                "The reservations holding one host",
                {200: oa.wrapped("allocation", ALLOCATION)},
                host_id + oa.query(hosts.ALLOCATION_ARGS),
            )
        },
        "/v1/images": {
            "get": oa.operation(
                "List the images", {200: _list("images", _OBJECT)}
            ),
            "post": oa.operation(
                "Register an image",
                {201: oa.wrapped("image", _OBJECT)},
                body=oa.enveloped(
                    "image", oa.object_schema(images.CREATE_FIELDS)
                ),
            ),
        },
        "/v1/images/{image_id}": {
            "get": oa.operation(
                "Show an image",
                {200: oa.wrapped("image", _OBJECT)},
                oa.path("image_id"),
            ),
            "delete": oa.operation(
                "Remove an image", {204: None}, oa.path("image_id")
            ),
        },
        "/v1/blocks": {
            "get": oa.operation(
                "List the block allocations", {200: _list("blocks", _OBJECT)}
            ),
            "post": oa.operation(
                "Create a block allocation",
                {201: oa.wrapped("block", _OBJECT)},
                body=oa.enveloped(
                    "block", oa.object_schema(blocks.CREATE_FIELDS)
                ),
            ),
        },
        "/v1/blocks/{block_id}": {
            "get": oa.operation(
                "Show a block allocation",
                {200: oa.wrapped("block", _OBJECT)},
                oa.path("block_id"),
            ),
            "delete": oa.operation(
                "Remove a block allocation", {204: None}, oa.path("block_id")
            ),
        },
    }
