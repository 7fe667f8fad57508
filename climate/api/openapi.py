"""``GET /v1/openapi.json``: the API as an OpenAPI 3.1 document.

Request bodies are built from the same field tables the handlers validate
with (``body.json_object``'s ``{field: type}``), query parameters from the
same lists ``body.query_args`` allows, and each enabled plugin adds its
own routes (``ResourcePlugin.openapi_paths``).  A test compares the
document with the application's routes, so neither can change alone.
"""

import flask

from climate.api.v1 import availability, leases

blueprint = flask.Blueprint("openapi", __name__)

_JSON_TYPES = {
    str: "string",
    list: "array",
    dict: "object",
    int: "integer",
    bool: "boolean",
    float: "number",
}

ERROR = {
    "type": "object",
    "required": ["error_code", "error_message", "error_name"],
    "properties": {
        "error_code": {"type": "integer"},
        "error_message": {"type": "string"},
        "error_name": {"type": "string"},
        "next_available": {
            "type": "object",
            "required": ["start_date", "end_date"],
            "properties": {
                "start_date": {"type": "string"},
                "end_date": {"type": "string"},
            },
        },
    },
}

DATE = {"type": "string"}
NULLABLE_DATE = {"type": ["string", "null"]}

RESERVATION = {
    "type": "object",
    "required": ["id", "lease_id", "status", "resource_type"],
    "properties": {
        "id": {"type": "string"},
        "lease_id": {"type": "string"},
        "status": {"type": "string"},
        "resource_id": {"type": ["string", "null"]},
        "resource_type": {"type": "string"},
        "missing_resources": {"type": "boolean"},
        "resources_changed": {"type": "boolean"},
    },
}

EVENT = {
    "type": "object",
    "required": ["id", "lease_id", "event_type", "time", "status"],
    "properties": {
        "id": {"type": "string"},
        "lease_id": {"type": "string"},
        "event_type": {"type": "string"},
        "time": DATE,
        "status": {"type": "string"},
    },
}

LEASE = {
    "type": "object",
    "required": [
        "id",
        "name",
        "project_id",
        "user_id",
        "status",
        "start_date",
        "end_date",
        "reservations",
        "events",
    ],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "project_id": {"type": ["string", "null"]},
        "user_id": {"type": ["string", "null"]},
        "status": {"type": "string"},
        "degraded": {"type": "boolean"},
        "start_date": DATE,
        "end_date": DATE,
        "before_end_date": NULLABLE_DATE,
        # Lease kinds (additive to the reservation API v1).
        "kind": {
            "type": "string",
            "enum": ["advance", "best_effort", "preemptible"],
        },
        # A best-effort lease's own fields (absent for other kinds).
        "duration": {"type": "string"},
        "not_before": DATE,
        "requeue": {"type": "boolean"},
        "queue_position": {"type": ["integer", "null"]},
        "earliest_start": NULLABLE_DATE,
        "reservations": {"type": "array", "items": RESERVATION},
        "events": {"type": "array", "items": EVENT},
    },
}

_ADVICE = {
    "type": "object",
    "required": ["latest_end_date", "binding", "prolong_for"],
    "properties": {
        "latest_end_date": NULLABLE_DATE,
        "binding": {"type": ["string", "null"]},
        "prolong_for": {"type": ["string", "null"]},
    },
}

EXTENSION = {
    "type": "object",
    "required": [
        "lease_id",
        "status",
        "end_date",
        "latest_end_date",
        "binding",
        "prolong_for",
        "with_swap",
        "limits",
        "reservations",
    ],
    "properties": {
        **_ADVICE["properties"],
        "lease_id": {"type": "string"},
        "status": {"type": "string"},
        "end_date": DATE,
        "with_swap": _ADVICE,
        "limits": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "end_date", "note"],
                "properties": {
                    "name": {"type": "string"},
                    "end_date": DATE,
                    "note": {"type": "string"},
                },
            },
        },
        "reservations": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "id",
                    "resource_type",
                    "latest_end_date",
                    "latest_end_date_with_swap",
                    "swap_note",
                ],
                "properties": {
                    "id": {"type": "string"},
                    "resource_type": {"type": "string"},
                    "latest_end_date": NULLABLE_DATE,
                    "latest_end_date_with_swap": NULLABLE_DATE,
                    "swap_note": {"type": ["string", "null"]},
                },
            },
        },
    },
}

AVAILABILITY = {
    "type": "object",
    "required": ["resource_type", "after", "before", "duration", "windows"],
    "properties": {
        "resource_type": {"type": "string"},
        "after": DATE,
        "before": DATE,
        "duration": {"type": "string"},
        "windows": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "start_date",
                    "end_date",
                    "latest_start_date",
                    "max_end_date",
                    "max_duration",
                    "free",
                ],
                "properties": {
                    "start_date": DATE,
                    "end_date": DATE,
                    "latest_start_date": {
                        **DATE,
                        "description": "The latest start of the window's "
                        "range of starts.  The search looks a week ahead "
                        "first and further only while the earliest windows "
                        "are not settled: when a range runs on for a week "
                        "or more past where it looked, this is as far as "
                        "it looked (at least a week after start_date, a "
                        "start that is granted) and the window is the last "
                        "listed, however large the limit.",
                    },
                    "max_end_date": NULLABLE_DATE,
                    "max_duration": {"type": ["string", "null"]},
                    "free": {"type": "integer", "minimum": 0},
                },
            },
        },
    },
}


def object_schema(fields):
    """The JSON schema of a body ``body.json_object(fields)`` accepts
    (each field also accepts null, as the handlers do)."""
    properties = {}
    for name, types in fields.items():
        types = types if isinstance(types, tuple) else (types,)
        properties[name] = {
            "type": sorted({_JSON_TYPES[t] for t in types} | {"null"})
        }
    return {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }


def enveloped(envelope, schema):
    """A body that may also come wrapped: ``{envelope: {...}}``."""
    return {
        "oneOf": [
            {
                "type": "object",
                "required": [envelope],
                "properties": {envelope: schema},
                "additionalProperties": False,
            },
            schema,
        ]
    }


def query(names, required=()):
    """Query parameters (strings) a handler's ``query_args`` allows."""
    return [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": {"type": "string"},
        }
        for name in names
    ]


def path(*names):
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
        }
        for name in names
    ]


def wrapped(key, schema):
    """A response ``{key: schema}``."""
    return {
        "type": "object",
        "required": [key],
        "properties": {key: schema},
    }


def operation(summary, responses, parameters=(), body=None, tags=()):
    """One operation: its success answers ``{code: schema or None}``,
    then every error answer, which has Climate's error body."""
    answers = {}
    for code, schema in responses.items():
        if schema is None:
            answers[str(code)] = {"description": "No content"}
        else:
            answers[str(code)] = {
                "description": "Success",
                "content": {"application/json": {"schema": schema}},
            }
    error = {
        "description": "Climate's error body",
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}
            }
        },
    }
    answers["4XX"] = error
    answers["503"] = error
    op = {"summary": summary, "responses": answers}
    if parameters:
        op["parameters"] = list(parameters)
    if body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    if tags:
        op["tags"] = list(tags)
    return op


def core_paths():
    """The lease API's own routes."""
    lease_id = path("lease_id")
    return {
        "/": {
            "get": operation(
                "The API versions",
                {300: {"type": "object", "required": ["versions"]}},
            )
        },
        "/v1": {
            "get": operation(
                "The v1 API",
                {200: {"type": "object", "required": ["version"]}},
            )
        },
        "/v1/openapi.json": {
            "get": operation("This document", {200: {"type": "object"}})
        },
        "/metrics": {
            "get": {
                "summary": "Request metrics, in Prometheus' text format "
                "(when [api] metrics_access is not off)",
                "responses": {
                    "200": {
                        "description": "Metrics",
                        "content": {
                            "text/plain": {"schema": {"type": "string"}}
                        },
                    },
                    "4XX": {
                        "description": "Climate's error body",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "$ref": "#/components/schemas/Error"
                                }
                            }
                        },
                    },
                },
            }
        },
        "/v1/leases": {
            "get": operation(
                "List the caller's leases",
                {
                    200: {
                        "type": "object",
                        "required": ["leases"],
                        "properties": {
                            "leases": {"type": "array", "items": LEASE}
                        },
                    }
                },
                query(leases._LIST_ARGS),
            ),
            "post": operation(
                "Create a lease",
                {201: wrapped("lease", LEASE)},
                body=enveloped("lease", object_schema(leases._CREATE_FIELDS)),
            ),
        },
        "/v1/leases/{lease_id}": {
            "get": operation(
                "Show a lease", {200: wrapped("lease", LEASE)}, lease_id
            ),
            "put": operation(
                "Change a lease",
                {200: wrapped("lease", LEASE)},
                lease_id,
                body=enveloped("lease", object_schema(leases._UPDATE_FIELDS)),
            ),
            "delete": operation(
                "Delete a lease",
                {204: None, 202: wrapped("lease", LEASE)},
                lease_id,
            ),
        },
        "/v1/leases/{lease_id}/extension": {
            "get": operation(
                "How far the lease's end could move now",
                {200: wrapped("extension", EXTENSION)},
                lease_id,
            )
        },
        "/v1/availability": {
            "get": operation(
                "When a reservation request would be granted; the "
                "resource type's own fields (those of its reservations) "
                "are further query parameters",
                {200: wrapped("availability", AVAILABILITY)},
                query(availability._SEARCH_ARGS),
            )
        },
    }


def document(plugin_classes):
    """The whole document, with the routes of ``plugin_classes``."""
    paths = core_paths()
    for plugin_class in plugin_classes:
        paths.update(plugin_class.openapi_paths())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Climate reservation API",
            "version": "1.0",
            "description": "Leases of cloud and bare-metal capacity, "
            "wire-compatible with the OpenStack reservation API v1.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": {"Error": ERROR}},
    }


@blueprint.get("/v1/openapi.json")
def openapi_document():
    plugins = flask.current_app.extensions["climate.plugins"]
    return flask.jsonify(document(plugins.values()))
