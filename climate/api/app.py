"""The Flask application factory of the Lease API."""

import uuid

import flask
from oslo_config import cfg

from climate.api import auth, errors, root
from climate.api.v1 import hosts, leases
from climate.manager import rpcapi

CONF = cfg.CONF

REQUEST_ID_HEADER = "X-OpenStack-Request-Id"


def create_app():
    """Build the API application from the loaded configuration."""
    app = flask.Flask("climate.api")
    app.config["MAX_CONTENT_LENGTH"] = CONF.api.max_request_body_size
    app.json.sort_keys = False
    app.url_map.strict_slashes = False
    app.extensions["climate.rpcapi"] = rpcapi.ManagerAPI()

    app.before_request(_start_request)
    app.after_request(_add_request_id)
    errors.register(app)

    app.register_blueprint(root.blueprint)
    app.register_blueprint(leases.blueprint, url_prefix="/v1/leases")
    app.register_blueprint(hosts.blueprint, url_prefix="/v1/os-hosts")

    app.wsgi_app = auth.pipeline(app.wsgi_app)
    return app


def _start_request():
    flask.g.request_id = f"req-{uuid.uuid4()}"
    flask.g.context = auth.context_from_headers(
        flask.request.headers, flask.g.request_id
    )


def _add_request_id(response):
    request_id = flask.g.get("request_id") or f"req-{uuid.uuid4()}"
    response.headers[REQUEST_ID_HEADER] = request_id
    return response
