"""Options of the [physical:host] group: the physical host plugin.

Registered on ``cfg.CONF`` when the plugin is loaded
(``PhysicalHostPlugin.list_opts``); shown by oslo-config-generator through
the ``climate.physical_host`` namespace (``list_opts`` below).
"""

from oslo_config import cfg

GROUP = cfg.OptGroup("physical:host", title="Physical host plugin")

OPTS = [
    cfg.IntOpt(
        "cleaning_time",
        default=0,
        min=0,
        help="Minutes a host stays blocked after a lease on it ends, to "
        "clean it before the next lease.  Admission looks for hosts free "
        "from cleaning_time before a lease's start to cleaning_time after "
        "its end.",
    ),
]


def list_opts():
    """``[(group, [opts])]``, for oslo-config-generator."""
    return [(GROUP, OPTS)]
