"""``/v1/os-hosts``: the physical host inventory, its properties and its
allocations.  Reads come from the plugin's tables, writes go to the manager
through the plugin's RPC API.

The inventory is the operator's: by default every action here is for
admins only (``climate:oshosts:*``, ``climate:allocations:get``).  The
routes exist only while the plugin is enabled (``[manager] plugins``).
"""

import datetime

import flask

from climate import availability, exceptions
from climate.api import auth, body
from climate.common import dates, host_query, idempotency
from climate.plugins.hosts import rpcapi
from climate.plugins.hosts.api import views
from climate.plugins.hosts.db import api as host_db

blueprint = flask.Blueprint("hosts", __name__)

ALLOCATION_ARGS = ("lease_id", "reservation_id", "start", "end")
PROPERTY_ARGS = ("detail", "all")
CALENDAR_ARGS = ("start", "end", "resource_properties")
#: The fields of a property change, and their types.
PROPERTY_FIELDS = {"private": (bool, str)}
_RPCAPI = "climate.physical_host.rpcapi"


@blueprint.record_once
def _add_rpc_client(state):
    state.app.extensions[_RPCAPI] = rpcapi.HostAPI()


def _manager():
    return flask.current_app.extensions[_RPCAPI]


def _host_body():
    """A host body: name, inventory fields and free-form capabilities, so
    the manager checks the fields."""
    return body.json_object(None, envelope="host")


@blueprint.get("")
def list_hosts():
    auth.authorize("climate:oshosts:get")
    body.query_args(())
    return flask.jsonify(hosts=[views.host(h) for h in host_db.host_list()])


@blueprint.post("")
def create_host():
    auth.authorize("climate:oshosts:post")
    values = _host_body()
    # A retry answered from the record, even while the broker is away.
    host = idempotency.first_result(flask.g.context, "create_host")
    if host is None:
        host = _manager().create_host(flask.g.context, values)
    return flask.jsonify(host=views.host(host)), 201


@blueprint.get("/<host_id>")
def get_host(host_id):
    body.query_args(())
    auth.authorize("climate:oshosts:get")
    return flask.jsonify(host=views.host(host_db.host_get(host_id)))


@blueprint.put("/<host_id>")
def update_host(host_id):
    auth.authorize("climate:oshosts:put")
    host = _manager().update_host(flask.g.context, host_id, _host_body())
    return flask.jsonify(host=views.host(host))


@blueprint.delete("/<host_id>")
def delete_host(host_id):
    auth.authorize("climate:oshosts:delete")
    _manager().delete_host(flask.g.context, host_id)
    return "", 204


#: The longest period one calendar read covers.
CALENDAR_DAYS = 62


@blueprint.get("/calendar")
def calendar():
    """The hosts (or those matching ``resource_properties``) and what
    holds them from ``start`` to ``end``: the caller's own leases by
    name, other projects' as busy only."""
    auth.authorize("climate:oshosts:calendar")
    args = body.query_args(CALENDAR_ARGS)
    now = dates.utcnow()
    start = dates.parse(args.get("start", "now"), "start", now)
    if start >= availability.LAST_DATE:
        raise exceptions.InvalidPeriod(
            reason=f"start must be before {availability.LAST_DATE:%Y-%m-%d}"
        )
    end = (
        dates.parse(args["end"], "end", now)
        if "end" in args
        else start + datetime.timedelta(days=7)
    )
    if end <= start:
        raise exceptions.InvalidPeriod(
            reason=f"end {end:%Y-%m-%d %H:%M} must be later than start "
            f"{start:%Y-%m-%d %H:%M}"
        )
    if end - start > datetime.timedelta(days=CALENDAR_DAYS):
        raise exceptions.InvalidPeriod(
            reason=f"a calendar covers at most {CALENDAR_DAYS} days"
        )
    text = args.get("resource_properties", "")
    tree = host_query.parse(text, "resource_properties")
    trees = [] if tree is None else [tree]
    host_db.host_query_check_fields(trees, "resource_properties")
    project = flask.g.context.project_id
    hosts = host_db.host_calendar(trees, start, end)
    return flask.jsonify(
        calendar={
            "start": dates.format_date(start),
            "end": dates.format_date(end),
            "hosts": [views.calendar_host(h, project) for h in hosts],
        }
    )


@blueprint.get("/properties")
def list_properties():
    auth.authorize("climate:oshosts:properties:get")
    args = body.query_args(PROPERTY_ARGS)
    detail = body.boolean_arg(args.get("detail"), "detail")
    properties = host_db.host_properties_list()
    if not auth.allowed("climate:oshosts:properties:get:private"):
        # Members see what they may write queries on, not the settings.
        properties = [
            {"property": p["property"], "values": p["values"]}
            for p in properties
            if not p["private"]
        ]
    if not detail:
        properties = [{"property": p["property"]} for p in properties]
    return flask.jsonify(resource_properties=properties)


@blueprint.patch("/properties/<name>")
def update_property(name):
    auth.authorize("climate:oshosts:properties:patch")
    values = body.json_object(PROPERTY_FIELDS, envelope="resource_property")
    prop = _manager().update_host_property(flask.g.context, name, values)
    return flask.jsonify(resource_property=prop)


def _allocation_filters():
    args = body.query_args(ALLOCATION_ARGS)
    filters = {k: args[k] for k in ("lease_id", "reservation_id") if k in args}
    for field in ("start", "end"):
        if field in args:
            filters[field] = dates.parse(args[field], field)
    return filters


@blueprint.get("/allocations")
def list_allocations():
    auth.authorize("climate:allocations:get")
    allocations = host_db.host_allocations_list(**_allocation_filters())
    return flask.jsonify(
        allocations=[views.allocation(a) for a in allocations]
    )


@blueprint.get("/<host_id>/allocation")
def get_allocation(host_id):
    auth.authorize("climate:allocations:get")
    allocations = host_db.host_allocations_list(
        host_id=host_id, **_allocation_filters()
    )
    allocation = (
        allocations[0]
        if allocations
        else {"resource_id": host_id, "reservations": []}
    )
    return flask.jsonify(allocation=views.allocation(allocation))
