"""The manager's own keystoneauth1 session, from ``[service_credentials]``.

The manager acts on the cloud (the nova compute driver's aggregates,
hypervisors and servers) as itself: it never keeps or reuses a user's token.
``get_session()`` builds one session from the configured auth plugin and
session options and hands the same one out afterwards; keystoneauth1
renews its token as it nears expiry.
"""

import threading

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

from climate import exceptions
from climate.conf import service_credentials

CONF = cfg.CONF
GROUP = service_credentials.GROUP

# What the password plugin cannot work without, beyond what keystoneauth1
# itself requires (auth_url): one of each tuple.
_PASSWORD_NEEDS = (("username", "user_id"), ("password",))

_lock = threading.Lock()
_session = None


def get_session():
    """The manager's session, built on first use.

    :raises ConfigurationError: naming the option of
        ``[service_credentials]`` that is missing or wrong.
    """
    global _session
    with _lock:
        if _session is None:
            auth = _load_auth()
            _session = ks_loading.load_session_from_conf_options(
                CONF, GROUP, auth=auth
            )
        return _session


def reset():
    """Forget the session, so the next call reads the options again."""
    global _session
    with _lock:
        _session = None


def _load_auth():
    group = CONF[GROUP]
    if not group.auth_type:
        raise _missing(
            "auth_type",
            "the manager needs credentials of its own for the cloud "
            "services it acts on (usually auth_type = password, with "
            "auth_url, username, password, user_domain_name, "
            "project_name and project_domain_name)",
        )
    try:
        auth = ks_loading.load_auth_from_conf_options(CONF, GROUP)
    except ks_exceptions.NoMatchingPlugin:
        raise exceptions.ConfigurationError(
            reason=f"[{GROUP}] auth_type {group.auth_type!r} is not a "
            "keystoneauth1 auth plugin (try password)"
        )
    except ks_exceptions.MissingRequiredOptions as exc:
        names = ", ".join(opt.dest for opt in exc.options)
        raise _missing(names, f"the {group.auth_type} auth plugin needs it")
    if group.auth_type == "password":
        for alternatives in _PASSWORD_NEEDS:
            if not any(group.get(name) for name in alternatives):
                raise _missing(
                    " or ".join(alternatives),
                    "the password auth plugin needs it",
                )
    return auth


def _missing(option, why):
    return exceptions.ConfigurationError(
        reason=f"[{GROUP}] {option} is not set: {why}"
    )
