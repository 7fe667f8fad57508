"""``GET /``: the API versions."""

import flask

blueprint = flask.Blueprint("root", __name__)


def _v1():
    return {
        "id": "v1.0",
        "status": "CURRENT",
        "links": [{"href": flask.request.host_url + "v1", "rel": "self"}],
    }


@blueprint.get("/")
def versions():
    return flask.jsonify(versions=[_v1()]), 300


@blueprint.get("/v1")
def version():
    return flask.jsonify(version=_v1())
