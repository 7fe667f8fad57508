"""OpenStackClient plugin: ``openstack reservation lease create ...``.

Registered in the ``openstack.cli.extension`` entry point group; the
commands are the ``openstack.reservation.v1`` group, the same cliff classes
as the ``climate`` command.  OpenStackClient imports this module at every
start, so it imports nothing heavy.

Without Keystone (the embedded service), ``CLIMATE_URL`` names the
service as it does for the ``climate`` command, unless the ``openstack``
command is given a Keystone, a cloud or an endpoint (``--os-auth-url``,
``--os-cloud``, ``--os-endpoint``, ``--os-auth-type``, ``--os-token`` or
their ``OS_*`` variables); ``--os-auth-type none --os-endpoint URL`` works
too.  The identity headers then come from ``CLIMATE_PROJECT_ID``,
``CLIMATE_USER_ID`` and ``CLIMATE_ROLES``.
"""

import os

ENDPOINT_ENV = "CLIMATE_URL"
#: Options of the openstack command that name how to reach a service.
_CONNECTION_OPTIONS = ("auth_url", "endpoint", "cloud", "auth_type", "token")

API_NAME = "reservation"
API_VERSION_OPTION = "os_reservation_api_version"
DEFAULT_API_VERSION = "1"
API_VERSIONS = {"1": "climateclient.client.Client"}


def climate_url(app, environ=os.environ):
    """``CLIMATE_URL`` when it says where the ``openstack`` application
    ``app`` finds Climate: set, and the command line and ``OS_*``
    variables name no other way; else None (also under the ``climate``
    command, which reads it itself)."""
    url = environ.get(ENDPOINT_ENV)
    options = getattr(app, "options", None)
    if not url or type(app).__module__.startswith("climateclient."):
        return None
    if any(getattr(options, name, None) for name in _CONNECTION_OPTIONS):
        return None
    return url


def endpoint_client(url, environ=os.environ):
    """A client of the Climate at ``url``, without Keystone."""
    from climateclient import client

    return client.Client(endpoint=url, **_identity(environ))


def _identity(environ):
    roles = environ.get("CLIMATE_ROLES")
    return {
        "project_id": environ.get("CLIMATE_PROJECT_ID"),
        "user_id": environ.get("CLIMATE_USER_ID"),
        "roles": roles.split(",") if roles else None,
    }


def make_client(instance):
    """The reservation client of OpenStackClient's ``ClientManager``."""
    from climateclient import client

    identity = {}
    if getattr(instance, "auth_plugin_name", None) == "none":
        identity = _identity(os.environ)
    return client.Client(
        session=instance.session,
        interface=instance.interface,
        region_name=instance.region_name,
        **identity,
    )


def build_option_parser(parser):
    """Add ``--os-reservation-api-version`` to the openstack command."""
    parser.add_argument(
        "--os-reservation-api-version",
        metavar="<reservation-api-version>",
        default=os.environ.get("OS_RESERVATION_API_VERSION"),
        help="Reservation API version, default="
        f"{DEFAULT_API_VERSION} (Env: OS_RESERVATION_API_VERSION)",
    )
    return parser
