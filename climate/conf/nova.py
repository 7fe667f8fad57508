"""Options of the [nova] group: how the nova compute driver reaches Nova.

The driver authenticates with the manager's own session
(``[service_credentials]``); these options only choose the endpoint and
shape the calls.
"""

from oslo_config import cfg

nova_group = cfg.OptGroup(
    "nova",
    title="Nova compute driver options",
    help="Used when [compute] driver = nova.",
)

nova_opts = [
    cfg.StrOpt(
        "endpoint_override",
        help="URL of the Compute API to use instead of the one in the "
        "Keystone catalog, for example http://nova.example.org:8774/v2.1. "
        "Required when [service_credentials] auth_type = none (a Nova "
        "without Keystone, as in tests).",
    ),
    cfg.StrOpt(
        "region_name",
        help="Region of the Compute endpoint in the Keystone catalog; "
        "unset takes the only one there is.",
    ),
    cfg.StrOpt(
        "interface",
        default="public",
        choices=["public", "internal", "admin"],
        help="Which Compute endpoint of the catalog to use.",
    ),
    cfg.DictOpt(
        "additional_headers",
        default={},
        help="Headers sent with every Compute API request, as "
        "name:value pairs separated by commas.  Only for a Nova whose "
        "API pipeline has no Keystone middleware (tests): it then takes "
        "the caller from X-User-Id, X-Project-Id and X-Roles, for example "
        "X-User-Id:climate,X-Project-Id:service,X-Roles:admin.",
    ),
    cfg.IntOpt(
        "retries",
        default=3,
        min=0,
        help="How many times a call that failed to connect or got a "
        "transient answer (500, 502, 503, 504) is repeated, waiting "
        "0.5 s, then 1 s, 2 s and so on.  A call still failing then "
        "fails the hook; the manager retries the event itself "
        "([manager] event_max_attempts).",
    ),
    cfg.StrOpt(
        "availability_zone_prefix",
        default="climate_",
        help="A reservation's aggregate gets the availability zone "
        "<prefix><reservation id>, so users can also target it by zone.  "
        "Empty: reservation aggregates get no availability zone.  The "
        "free pool never has one.",
    ),
    cfg.IntOpt(
        "reclaim_timeout",
        default=300,
        min=1,
        help="Seconds to wait, at a lease's end, for the servers still on "
        "its hosts to be deleted or shelved (the reservation's on_end "
        "policy) before the end event fails and is retried.",
    ),
]


def register_opts(conf):
    conf.register_group(nova_group)
    conf.register_opts(nova_opts, group=nova_group)


def list_opts():
    return {nova_group: nova_opts}
