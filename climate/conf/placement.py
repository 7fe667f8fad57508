"""Options of the [placement] group: how Climate reaches Placement.

Used by the virtual:instance plugin with ``[compute] driver = nova``: a
reservation's slots are inventory of a custom resource class on nested
resource providers.  The calls go through the manager's own session
(``[service_credentials]``).
"""

from oslo_config import cfg

placement_group = cfg.OptGroup(
    "placement",
    title="Placement API options",
    help="Used by instance reservations when [compute] driver = nova.",
)

placement_opts = [
    cfg.StrOpt(
        "endpoint_override",
        help="URL of the Placement API to use instead of the one in the "
        "Keystone catalog, for example http://placement.example.org:8778. "
        "Required when [service_credentials] auth_type = none.",
    ),
    cfg.StrOpt(
        "region_name",
        help="Region of the Placement endpoint in the Keystone catalog; "
        "unset takes the only one there is.",
    ),
    cfg.StrOpt(
        "interface",
        default="public",
        choices=["public", "internal", "admin"],
        help="Which Placement endpoint of the catalog to use.",
    ),
    cfg.DictOpt(
        "additional_headers",
        default={},
        help="Headers sent with every Placement request, as name:value "
        "pairs separated by commas.  Only for a Placement without "
        "Keystone (tests, auth_strategy = noauth2): X-Auth-Token:admin "
        "(an X-Auth-Token given here is sent instead of the session's "
        "token).",
    ),
]


def register_opts(conf):
    conf.register_group(placement_group)
    conf.register_opts(placement_opts, group=placement_group)


def list_opts():
    return {placement_group: placement_opts}
