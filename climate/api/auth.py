"""Who is calling: the auth middleware, the request context and policy.

``[api] auth_strategy`` picks the middleware in front of the application:

* ``noauth`` trusts the identity headers a client sends (``X-User-Id``,
  ``X-Project-Id``, ``X-Roles``) and fills in the configured defaults for
  those it leaves out.  It is meant for the embedded service and tests;
  anyone can claim any project with it.
* ``keystone`` puts keystonemiddleware's ``auth_token`` in front, configured
  from ``[keystone_authtoken]``: it validates the ``X-Auth-Token`` with
  Keystone, removes any identity header the client sent and sets the real
  ones from the token.

Either way the application reads the same headers into its
``RequestContext``.  The versions (``GET /`` and ``GET /v1``) need no
authentication, so clients can discover the API.
"""

import json
import uuid

import flask
from oslo_config import cfg
from oslo_log import log as logging

from climate import context, exceptions, policy

CONF = cfg.CONF
LOG = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-OpenStack-Request-Id"
PUBLIC_PATHS = ("/", "/v1", "/v1/")

# Keystone's default implied roles: a role also grants the ones it implies.
_IMPLIED_ROLES = {"admin": ("member", "reader"), "member": ("reader",)}


def pipeline(app, public_paths=()):
    """Wrap the WSGI ``app`` in the middleware ``auth_strategy`` names.

    :param public_paths: paths answered without authentication besides the
        versions (such as ``/metrics`` when it is open).
    """
    strategy = CONF.api.auth_strategy
    if strategy == "noauth":
        return NoAuthMiddleware(app)
    if strategy == "keystone":
        # Imported here: the embedded noauth mode does without it.
        from keystonemiddleware import auth_token

        protected = auth_token.AuthProtocol(app, {"oslo_config_config": CONF})
        return PublicPaths(
            StandardUnauthorized(protected),
            app,
            PUBLIC_PATHS + tuple(public_paths),
        )
    raise ValueError(f"unknown auth_strategy {strategy}")


class NoAuthMiddleware:
    """Default the identity headers from ``[api] noauth_*``."""

    def __init__(self, app):
        self._app = app
        self._defaults = {
            "HTTP_X_USER_ID": CONF.api.noauth_user_id,
            "HTTP_X_PROJECT_ID": CONF.api.noauth_project_id,
            "HTTP_X_ROLES": ",".join(CONF.api.noauth_roles),
        }

    def __call__(self, environ, start_response):
        for key, value in self._defaults.items():
            if not environ.get(key):
                environ[key] = value
        environ["HTTP_X_ROLES"] = ",".join(
            _with_implied_roles(environ["HTTP_X_ROLES"].split(","))
        )
        # Keystone would set it from a valid token; here every request is
        # taken at its word.
        environ["HTTP_X_IDENTITY_STATUS"] = "Confirmed"
        return self._app(environ, start_response)


def _with_implied_roles(roles):
    roles = [r.strip() for r in roles if r.strip()]
    implied = [i for r in roles for i in _IMPLIED_ROLES.get(r.lower(), ())]
    return list(dict.fromkeys(roles + implied))


class PublicPaths:
    """Send ``GET`` of public paths (the versions...) straight to the
    application."""

    def __init__(self, protected, public, paths=PUBLIC_PATHS):
        self._protected = protected
        self._public = public
        self._paths = frozenset(paths)

    def __call__(self, environ, start_response):
        if (
            environ.get("REQUEST_METHOD") in ("GET", "HEAD")
            and environ.get("PATH_INFO", "") in self._paths
        ):
            return self._public(environ, start_response)
        return self._protected(environ, start_response)


class StandardUnauthorized:
    """Answer auth_token's 401s with Climate's error body.

    Answers of the application itself always carry a request id, so a 401
    without one was made by the middleware: its body is replaced, its
    ``WWW-Authenticate`` header kept.
    """

    def __init__(self, app):
        self._app = app

    def __call__(self, environ, start_response):
        answer = {}

        def capture(status, headers, exc_info=None):
            answer["status"], answer["headers"] = status, headers
            return lambda data: None  # write() is not used by these apps

        body = self._app(environ, capture)
        status, headers = answer["status"], answer["headers"]
        names = {name.lower() for name, _ in headers}
        if not status.startswith("401") or REQUEST_ID_HEADER.lower() in names:
            start_response(status, headers)
            return body
        if hasattr(body, "close"):
            body.close()
        data = json.dumps(
            {
                "error_code": 401,
                "error_message": exceptions.NotAuthenticated().message
                + ": send a valid Keystone token in X-Auth-Token",
                "error_name": "NotAuthenticated",
            }
        ).encode()
        kept = [(n, v) for n, v in headers if n.lower() == "www-authenticate"]
        start_response(
            status,
            kept
            + [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(data))),
                (REQUEST_ID_HEADER, f"req-{uuid.uuid4()}"),
            ],
        )
        return [data]


def context_from_environ(environ, request_id):
    """Build the ``RequestContext`` of a request from its identity headers.

    The user's token is left out: the manager never acts with it.

    :raises NotAuthenticated: the middleware did not confirm the identity
        (Keystone's ``delay_auth_decision`` lets such requests through).
    """
    if environ.get("HTTP_X_IDENTITY_STATUS") != "Confirmed":
        raise exceptions.NotAuthenticated()
    return context.RequestContext.from_environ(
        environ,
        request_id=request_id,
        auth_token=None,
        overwrite=False,
    )


# Policy, for the request handlers -------------------------------------------


def _enforcer():
    return flask.current_app.extensions["climate.policy"]


def authorize(action, target=None):
    """Check the caller may perform ``action`` on ``target`` (default: its
    own project).

    :raises PolicyNotAuthorized: answered 403.
    """
    policy.authorize(_enforcer(), flask.g.context, action, target)


def allowed(action, target=None):
    """Whether the caller may perform ``action``, without raising."""
    return policy.check(_enforcer(), flask.g.context, action, target)


def lease_scope():
    """The project whose leases the caller may reach (None: every one)."""
    return policy.lease_scope(_enforcer(), flask.g.context)


def is_admin(ctxt):
    return policy.check_is_admin(_enforcer(), ctxt)
