"""The Flask application factory of the Lease API."""

import uuid

import flask
from oslo_config import cfg

from climate import plugins, policy
from climate.api import auth, errors, root
from climate.api.v1 import leases
from climate.manager import rpcapi

CONF = cfg.CONF

REQUEST_ID_HEADER = auth.REQUEST_ID_HEADER


def create_app():
    """Build the API application from the loaded configuration.

    The routes of each plugin enabled in ``[manager] plugins`` join the
    lease API's; the plugins' classes are loaded, never built.

    :raises ConfigurationError: ``[manager] plugins`` names a plugin that
        is not installed, or two plugins for one resource type.
    """
    enabled = plugins.classes(CONF.manager.plugins)
    app = flask.Flask("climate.api")
    app.config["MAX_CONTENT_LENGTH"] = CONF.api.max_request_body_size
    app.json.sort_keys = False
    app.url_map.strict_slashes = False
    app.extensions["climate.rpcapi"] = rpcapi.ManagerAPI()
    app.extensions["climate.policy"] = policy.get_enforcer()

    app.before_request(_start_request)
    app.after_request(_add_request_id)
    errors.register(app)

    app.register_blueprint(root.blueprint)
    app.register_blueprint(leases.blueprint, url_prefix="/v1/leases")
    for plugin_class in enabled.values():
        for blueprint, url_prefix in plugin_class.blueprints():
            app.register_blueprint(blueprint, url_prefix=url_prefix)

    app.wsgi_app = auth.pipeline(app.wsgi_app)
    return app


def _start_request():
    flask.g.request_id = f"req-{uuid.uuid4()}"
    if flask.request.blueprint == root.blueprint.name:
        return  # the versions are public
    ctxt = auth.context_from_environ(flask.request.environ, flask.g.request_id)
    ctxt.is_admin = auth.is_admin(ctxt)
    flask.g.context = ctxt


def _add_request_id(response):
    request_id = flask.g.get("request_id") or f"req-{uuid.uuid4()}"
    response.headers[REQUEST_ID_HEADER] = request_id
    return response
