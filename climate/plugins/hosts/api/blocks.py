"""``/v1/blocks``: block allocations of machines with one image for a
group, in time slots (see ``climate.plugins.hosts.images``)."""

import flask

from climate.api import auth, body
from climate.common import dates, idempotency
from climate.plugins.hosts import provisioning_rpcapi
from climate.plugins.hosts.db import api as host_db

blueprint = flask.Blueprint("blocks", __name__)

_RPCAPI = "climate.provisioning.rpcapi"


@blueprint.record_once
def _add_rpc_client(state):
    state.app.extensions.setdefault(
        _RPCAPI, provisioning_rpcapi.ProvisioningAPI()
    )


def _manager():
    return flask.current_app.extensions[_RPCAPI]


def view(block):
    """A block and its slots on the wire."""
    return {
        "id": block["id"],
        "name": block["name"],
        "image_id": block["image_id"],
        "project": block["project_id"],
        "machine_count": block["machine_count"],
        "ignore_privileges": block["ignore_privileges"],
        "slots": [
            {
                "start_date": dates.format_date(s["start_date"]),
                "end_date": dates.format_date(s["end_date"]),
                "lease_id": s["lease_id"],
                "allocated": s["allocated"],
                "warning": s["warning"] or None,
            }
            for s in block["slots"]
        ],
        "created_at": dates.format_timestamp(block.get("created_at")),
        "updated_at": dates.format_timestamp(block.get("updated_at")),
    }


#: The fields of a new block allocation, and their types.
CREATE_FIELDS = {
    "name": str,
    "image": str,
    "slots": list,
    "weekly": dict,
    "machine_count": int,
    "project": str,
    "ignore_privileges": bool,
}


@blueprint.get("")
def list_blocks():
    auth.authorize("climate:blocks:get")
    body.query_args(())
    return flask.jsonify(blocks=[view(b) for b in host_db.block_list()])


@blueprint.post("")
def create_block():
    auth.authorize("climate:blocks:post")
    values = body.json_object(CREATE_FIELDS, envelope="block")
    block = idempotency.first_result(flask.g.context, "create_block")
    if block is None:
        block = _manager().create_block(flask.g.context, values)
    return flask.jsonify(block=view(host_db.block_get(block["id"]))), 201


@blueprint.get("/<block_id>")
def get_block(block_id):
    body.query_args(())
    auth.authorize("climate:blocks:get")
    return flask.jsonify(block=view(host_db.block_get(block_id)))


@blueprint.delete("/<block_id>")
def delete_block(block_id):
    auth.authorize("climate:blocks:delete")
    _manager().delete_block(flask.g.context, block_id)
    return "", 204
