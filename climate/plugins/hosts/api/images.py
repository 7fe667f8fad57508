"""``/v1/images``: the images hosts can be prepared with.

Anyone may list and read them (to pick one for a reservation); the
operator registers and deletes them.  ``GET /v1/images/{id}`` shows the
learned load time estimate per provisioning driver.
"""

import flask
from oslo_config import cfg

from climate.api import auth, body
from climate.common import dates, idempotency
from climate.plugins.hosts import images, provisioning_rpcapi
from climate.plugins.hosts.db import api as host_db

blueprint = flask.Blueprint("images", __name__)

_RPCAPI = "climate.provisioning.rpcapi"


@blueprint.record_once
def _add_rpc_client(state):
    state.app.extensions.setdefault(
        _RPCAPI, provisioning_rpcapi.ProvisioningAPI()
    )


def _manager():
    return flask.current_app.extensions[_RPCAPI]


def view(image, estimates=None):
    """An image on the wire; with its estimates when given."""
    out = {
        "id": image["id"],
        "name": image["name"],
        "reference": image["reference"],
        "checksum": image["checksum"],
        "default_load_time": image["default_load_time"],
    }
    if estimates is not None:
        out["estimated_load_time"] = estimates[_default_driver(estimates)][
            "seconds"
        ]
        out["estimates"] = estimates
    out["created_at"] = dates.format_timestamp(image.get("created_at"))
    out["updated_at"] = dates.format_timestamp(image.get("updated_at"))
    return out


def _default_driver(estimates):
    name = cfg.CONF.provisioning.default_driver
    return name if name in estimates else sorted(estimates)[0]


#: The fields of a new image, and their types.
CREATE_FIELDS = {
    "name": str,
    "reference": str,
    "checksum": str,
    "default_load_time": int,
}


@blueprint.get("")
def list_images():
    auth.authorize("climate:images:get")
    body.query_args(())
    return flask.jsonify(images=[view(i) for i in host_db.image_list()])


@blueprint.post("")
def create_image():
    auth.authorize("climate:images:post")
    values = body.json_object(CREATE_FIELDS, envelope="image")
    image = idempotency.first_result(flask.g.context, "create_image")
    if image is None:
        image = _manager().create_image(flask.g.context, values)
    image = host_db.image_get(image["id"])
    return flask.jsonify(
        image=view(image, images.image_view_estimates(image))
    ), 201


@blueprint.get("/<image_id>")
def get_image(image_id):
    body.query_args(())
    auth.authorize("climate:images:get")
    image = host_db.image_get(image_id)
    return flask.jsonify(image=view(image, images.image_view_estimates(image)))


@blueprint.delete("/<image_id>")
def delete_image(image_id):
    auth.authorize("climate:images:delete")
    _manager().delete_image(flask.g.context, image_id)
    return "", 204
