"""The Flask application factory of the Lease API."""

import uuid

import flask
from oslo_config import cfg

from climate import context as climate_context
from climate import plugins, policy
from climate.api import (
    auth,
    body,
    errors,
    healthcheck,
    jsonprovider,
    metrics,
    openapi,
    root,
)
from climate.api.v1 import availability, leases
from climate.manager import rpcapi

CONF = cfg.CONF

REQUEST_ID_HEADER = auth.REQUEST_ID_HEADER
#: Public, like the versions: what the API is, not what it holds.
OPENAPI_PATH = "/v1/openapi.json"


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
    jsonprovider.install(app)
    app.json.sort_keys = False
    app.url_map.strict_slashes = False
    app.extensions["climate.rpcapi"] = rpcapi.ManagerAPI()
    app.extensions["climate.policy"] = policy.get_enforcer()
    app.extensions["climate.plugins"] = enabled

    app.before_request(_start_request)
    app.after_request(_add_request_id)
    app.teardown_request(_end_request)
    errors.register(app)

    app.register_blueprint(root.blueprint)
    app.register_blueprint(openapi.blueprint)
    app.register_blueprint(leases.blueprint, url_prefix="/v1/leases")
    app.register_blueprint(
        availability.blueprint, url_prefix="/v1/availability"
    )
    for plugin_class in enabled.values():
        for blueprint, url_prefix in plugin_class.blueprints():
            app.register_blueprint(blueprint, url_prefix=url_prefix)
    public = [OPENAPI_PATH]
    for plugin_class in enabled.values():
        public.extend(plugin_class.public_paths)
    app.extensions["climate.public_paths"] = frozenset(public)
    if CONF.api.metrics_access != "off":
        app.register_blueprint(metrics.blueprint)
    if CONF.api.metrics_access == "open":
        public.append(metrics.PATH)

    # Outermost first: every request is counted; /healthcheck answers
    # before authentication; then the auth middleware and the application.
    app.wsgi_app = auth.pipeline(app.wsgi_app, public_paths=public)
    app.wsgi_app = healthcheck.Mount(app.wsgi_app)
    app.extensions[metrics.EXTENSION] = app_metrics = metrics.Metrics()
    app.wsgi_app = metrics.RequestMetrics(
        app.wsgi_app, app_metrics, app.url_map
    )
    return app


def _start_request():
    flask.g.request_id = f"req-{uuid.uuid4()}"
    body.refuse_nul_in_url()
    if flask.request.blueprint in (
        root.blueprint.name,
        openapi.blueprint.name,
    ):
        return  # the versions and the document are public
    if (
        flask.request.blueprint == metrics.blueprint.name
        and CONF.api.metrics_access == "open"
    ):
        return
    ctxt = auth.context_from_environ(flask.request.environ, flask.g.request_id)
    ctxt.is_admin = auth.is_admin(ctxt)
    flask.g.context = ctxt
    # The log lines of this request carry its context, and only they.
    ctxt.update_store()


def _end_request(_error):
    climate_context.clear_current()


def _add_request_id(response):
    request_id = flask.g.get("request_id") or f"req-{uuid.uuid4()}"
    response.headers[REQUEST_ID_HEADER] = request_id
    return response
