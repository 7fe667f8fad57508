"""OpenStackClient plugin: ``openstack reservation lease create ...``.

Registered in the ``openstack.cli.extension`` entry point group; the
commands are the ``openstack.reservation.v1`` group, the same cliff classes
as the ``climate`` command.  OpenStackClient imports this module at every
start, so it imports nothing heavy.

Without Keystone, ``openstack --os-auth-type none --os-endpoint URL
reservation ...`` works too; the identity headers then come from
``CLIMATE_PROJECT_ID``, ``CLIMATE_USER_ID`` and ``CLIMATE_ROLES``.
"""

import os

API_NAME = "reservation"
API_VERSION_OPTION = "os_reservation_api_version"
DEFAULT_API_VERSION = "1"
API_VERSIONS = {"1": "climateclient.client.Client"}


def make_client(instance):
    """The reservation client of OpenStackClient's ``ClientManager``."""
    from climateclient import client

    identity = {}
    if getattr(instance, "auth_plugin_name", None) == "none":
        roles = os.environ.get("CLIMATE_ROLES")
        identity = {
            "project_id": os.environ.get("CLIMATE_PROJECT_ID"),
            "user_id": os.environ.get("CLIMATE_USER_ID"),
            "roles": roles.split(",") if roles else None,
        }
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
