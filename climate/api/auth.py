"""Who is calling: the auth middleware and the request context.

``[api] auth_strategy = noauth`` trusts the identity headers a client sends
(``X-User-Id``, ``X-Project-Id``, ``X-Roles``) and fills in the configured
defaults for those it leaves out.  It is meant for the embedded service and
tests; anyone can claim any project with it.
"""

from oslo_config import cfg

from climate import context

CONF = cfg.CONF


def pipeline(app):
    """Wrap the WSGI ``app`` in the middleware ``auth_strategy`` names."""
    if CONF.api.auth_strategy == "noauth":
        return NoAuthMiddleware(app)
    raise ValueError(f"unknown auth_strategy {CONF.api.auth_strategy}")


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
        return self._app(environ, start_response)


def context_from_headers(headers, request_id):
    """Build the ``RequestContext`` of a request from its identity headers."""
    roles = [
        r.strip() for r in headers.get("X-Roles", "").split(",") if r.strip()
    ]
    return context.RequestContext(
        user_id=headers.get("X-User-Id"),
        project_id=headers.get("X-Project-Id"),
        roles=roles,
        is_admin="admin" in roles,
        request_id=request_id,
        overwrite=False,
    )
