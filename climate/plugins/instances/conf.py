"""Options of the [virtual:instance] group: the instance plugin.

Registered on ``cfg.CONF`` when the plugin is loaded
(``VirtualInstancePlugin.list_opts``); shown by oslo-config-generator
through the ``climate.virtual_instance`` namespace (``list_opts`` below).
"""

from oslo_config import cfg

GROUP = cfg.OptGroup("virtual:instance", title="Virtual instance plugin")

#: What happens to a reservation's servers left at its end.
ON_END_ACTIONS = ("delete", "shelve", "snapshot_then_delete")
#: What happens shortly before the end (the ``before_end_date``): the
#: tenant is always warned; ``snapshot`` also snapshots its servers.
BEFORE_END_ACTIONS = ("default", "snapshot")

OPTS = [
    cfg.StrOpt(
        "default_on_end",
        default="delete",
        choices=ON_END_ACTIONS,
        help="What happens to the servers an instance reservation leaves "
        "running at its end when the reservation does not say (its on_end "
        "field): delete them, shelve them, or snapshot then delete them.",
    ),
    cfg.StrOpt(
        "flavor_prefix",
        default="reservation:",
        help="Prefix of the name of a reservation's private flavor; the "
        "reservation id follows it.",
    ),
]


def options():
    """The group's values (read at run time, never at import)."""
    return cfg.CONF[GROUP.name]


def list_opts():
    """For oslo-config-generator (namespace ``climate.virtual_instance``)."""
    return [(GROUP, OPTS)]
