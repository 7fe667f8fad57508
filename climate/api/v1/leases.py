"""``/v1/leases``: reads come from the database, writes go to the manager."""

import flask
from oslo_config import cfg

from climate import exceptions, states
from climate.api import body, views
from climate.db import api as db_api

CONF = cfg.CONF

blueprint = flask.Blueprint("leases", __name__)

_CREATE_FIELDS = {
    "name": str,
    "start_date": str,
    "end_date": str,
    "before_end_date": str,
    "reservations": list,
    "events": list,
}
_UPDATE_FIELDS = {
    "name": str,
    "start_date": str,
    "end_date": str,
    "before_end_date": str,
    "reservations": list,
    "prolong_for": str,
    "reduce_by": str,
    "defer_by": str,
    "advance_by": str,
}
_LIST_ARGS = ("status", "name", "limit", "marker")


def _manager():
    return flask.current_app.extensions["climate.rpcapi"]


def _project_scope():
    context = flask.g.context
    return None if context.is_admin else context.project_id


@blueprint.get("")
def list_leases():
    args = body.query_args(_LIST_ARGS)
    status = args.get("status")
    if status is not None and status.upper() not in states.LeaseStatus.ALL:
        raise _bad_status(status)
    # Without ?limit= a page holds max_limit leases, as the option says.
    limit = body.limit_arg(args.get("limit"), CONF.api.max_limit)
    limit = limit or CONF.api.max_limit
    rows = db_api.lease_list(
        project_id=_project_scope(),
        status=status.upper() if status else None,
        name=args.get("name"),
        limit=limit,
        marker=args.get("marker"),
    )
    result = {"leases": [views.lease(row) for row in rows]}
    if len(rows) == limit:
        query = {**args, "marker": rows[-1]["id"]}
        next_url = flask.url_for(".list_leases", _external=True, **query)
        result["leases_links"] = [{"rel": "next", "href": next_url}]
    return flask.jsonify(result)


def _bad_status(status):
    return exceptions.InvalidInput(
        reason=f"unknown status {status!r}; one of "
        f"{', '.join(sorted(states.LeaseStatus.ALL))}"
    )


@blueprint.post("")
def create_lease():
    values = body.json_object(_CREATE_FIELDS, envelope="lease")
    lease = _manager().create_lease(flask.g.context, values)
    return flask.jsonify(lease=views.lease(lease)), 201


@blueprint.get("/<lease_id>")
def get_lease(lease_id):
    lease = db_api.lease_get(lease_id, _project_scope())
    return flask.jsonify(lease=views.lease(lease))


@blueprint.put("/<lease_id>")
def update_lease(lease_id):
    values = body.json_object(_UPDATE_FIELDS, envelope="lease")
    lease = _manager().update_lease(flask.g.context, lease_id, values)
    return flask.jsonify(lease=views.lease(lease))


@blueprint.delete("/<lease_id>")
def delete_lease(lease_id):
    _manager().delete_lease(flask.g.context, lease_id)
    return "", 204
