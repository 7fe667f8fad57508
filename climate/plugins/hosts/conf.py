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
    cfg.IntOpt(
        "prepare_margin",
        default=5,
        min=0,
        help="Minutes a host reservation with an image is prepared before "
        "its start beyond the estimated load time; the margin is the "
        "larger of this and prepare_margin_factor times the estimate.",
    ),
    cfg.FloatOpt(
        "prepare_margin_factor",
        default=0.25,
        min=0.0,
        help="Share of the estimated load time added as a margin before "
        "the start (see prepare_margin).",
    ),
    cfg.IntOpt(
        "max_load_attempts",
        default=3,
        min=1,
        help="Loads tried on one host before it is swapped for another "
        "(a fatal outcome swaps it at once).",
    ),
    cfg.IntOpt(
        "estimate_lookback",
        default=365,
        min=1,
        help="Days of successful loads an image's load time estimate "
        "learns from.",
    ),
    cfg.IntOpt(
        "estimate_samples",
        default=50,
        min=1,
        help="Latest successful loads an estimate reads, at most.",
    ),
    cfg.IntOpt(
        "estimate_min_samples",
        default=3,
        min=1,
        help="Loads needed before the estimate replaces the image's "
        "default load time.",
    ),
    cfg.FloatOpt(
        "estimate_percentile",
        default=90.0,
        min=1.0,
        max=100.0,
        help="Percentile of the past load times taken as the estimate: "
        "high enough that most loads end within it.",
    ),
    cfg.IntOpt(
        "estimate_min_load_time",
        default=10,
        min=0,
        help="Seconds: a load that took less is left out of estimates (a "
        "load that did nothing).",
    ),
    cfg.IntOpt(
        "estimate_max_load_time",
        default=4 * 3600,
        min=1,
        help="Seconds: a load that took longer is left out of estimates "
        "(a deploy that hung, then went through).",
    ),
    cfg.StrOpt(
        "reclaim_reload",
        default="now",
        choices=[
            ("now", "reload the lease's image at once after the end"),
            ("next_lease", "mark the host to be loaded before its next lease"),
        ],
        help="What reclaim does with a host its user used (or may have).",
    ),
    cfg.IntOpt(
        "block_min_machines",
        default=0,
        min=0,
        max=1,
        help="min of the reservation each block slot asks for: 0 grants "
        "a slot even without any machine free; 1 refuses it then.",
    ),
    cfg.StrOpt(
        "default_on_end",
        default="kill",
        choices=("kill", "recycle", "release"),
        help="What happens to a host reservation's hosts at its end when "
        "the reservation does not say (its on_end field): 'kill' deletes "
        "(or shelves, see [nova]) the servers left on them and returns "
        "them to the free pool; 'recycle' leaves the servers running, "
        "keeps the hosts out of the free pool and returns each once it "
        "runs no server; 'release' leaves the servers running and hands "
        "the hosts to the multi-tenant pool, out of Climate's inventory "
        "until an operator makes them reservable again.",
    ),
    cfg.IntOpt(
        "default_grace_period",
        default=0,
        min=0,
        max=7 * 24 * 60,
        help="Minutes after a host reservation's end before its on_end "
        "action runs, when the reservation does not say (its "
        "grace_period field).  The hosts stay the tenant's, and busy for "
        "admission, until then.",
    ),
]


def list_opts():
    """``[(group, [opts])]``, for oslo-config-generator."""
    return [(GROUP, OPTS)]


def options():
    """The group's values, registering it first when the plugin was not
    loaded (a request parsed on its own)."""
    cfg.CONF.register_group(GROUP)
    cfg.CONF.register_opts(OPTS, group=GROUP)
    return cfg.CONF[GROUP.name]
