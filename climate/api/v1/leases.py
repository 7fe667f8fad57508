"""``/v1/leases``: reads come from the database, writes go to the manager.

A project sees only its own leases: another project's lease is not found.
Callers allowed ``climate:leases:get:all_projects`` (admins, by default)
may list every project's leases with ``?all_projects=1`` and act on any
lease by its id.
"""

import flask
from oslo_config import cfg

from climate import availability, exceptions, policy, states
from climate.api import auth, body, views
from climate.common import dates, idempotency
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
    "kind": str,
    "duration": str,
    "requeue": bool,
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
    "kind": str,
    # A QUEUED lease's new duration.
    "duration": str,
}
_LIST_ARGS = ("status", "name", "limit", "marker", "all_projects")


def _manager():
    return flask.current_app.extensions["climate.rpcapi"]


def _project_scope():
    """The project whose leases the caller may reach by id (None: all)."""
    return auth.lease_scope()


def _lease_for(action, lease_id):
    """Read a lease the caller may see, then check ``action`` on it.

    :raises LeaseNotFound: no such lease in the caller's reach.
    :raises PolicyNotAuthorized: the caller may see it but not do that.
    """
    lease = db_api.lease_get(lease_id, _project_scope())
    auth.authorize(
        action,
        {"project_id": lease["project_id"], "user_id": lease["user_id"]},
    )
    return lease


@blueprint.get("")
def list_leases():
    args = body.query_args(_LIST_ARGS)
    auth.authorize("climate:leases:get")
    project_id = flask.g.context.project_id
    if body.boolean_arg(args.get("all_projects"), "all_projects"):
        auth.authorize(policy.ALL_PROJECTS)
        project_id = None
    status = args.get("status")
    if status is not None and status.upper() not in states.LeaseStatus.ALL:
        raise _bad_status(status)
    # Without ?limit= a page holds max_limit leases, as the option says.
    limit = body.limit_arg(args.get("limit"), CONF.api.max_limit)
    limit = limit or CONF.api.max_limit
    rows = db_api.lease_list(
        project_id=project_id,
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
    auth.authorize("climate:leases:post")
    values = body.json_object(_CREATE_FIELDS, envelope="lease")
    # A retry answered from the record, even while the broker is away.
    lease = idempotency.first_result(flask.g.context, "create_lease")
    if lease is None:
        lease = _manager().create_lease(flask.g.context, values)
    return flask.jsonify(lease=views.lease(lease)), 201


@blueprint.get("/<lease_id>")
def get_lease(lease_id):
    body.query_args(())
    lease = _lease_for("climate:leases:get", lease_id)
    return flask.jsonify(lease=views.lease(lease))


@blueprint.get("/<lease_id>/extension")
def get_extension(lease_id):
    """How far the lease's end could move now (see
    ``climate.availability.extension``)."""
    body.query_args(())
    lease = _lease_for("climate:leases:extension", lease_id)
    advice = availability.extension(
        flask.current_app.extensions["climate.plugins"],
        flask.g.context,
        lease,
        dates.utcnow(),
    )
    return flask.jsonify(extension=advice)


@blueprint.put("/<lease_id>")
def update_lease(lease_id):
    _lease_for("climate:leases:put", lease_id)
    values = body.json_object(_UPDATE_FIELDS, envelope="lease")
    lease = idempotency.first_result(flask.g.context, "update_lease")
    if lease is None:
        lease = _manager().update_lease(flask.g.context, lease_id, values)
    return flask.jsonify(lease=views.lease(lease))


@blueprint.delete("/<lease_id>")
def delete_lease(lease_id):
    """204 once the lease is gone; 202 with the lease, DELETING, while
    its resources are still being taken back (the manager goes on)."""
    _lease_for("climate:leases:delete", lease_id)
    lease = _manager().delete_lease(flask.g.context, lease_id)
    if lease is None:
        return "", 204
    return flask.jsonify(lease=views.lease(lease)), 202
