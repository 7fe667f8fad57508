"""Options of the power drivers and the energy policy ([power]).

The drivers (``climate.power.drivers``: ``none``, ``redfish``, ``ipmi``)
are chosen per host; this group sets how long their calls may take and
whether, and how, the manager powers idle hosts off and on again.
"""

from oslo_config import cfg

power_group = cfg.OptGroup("power", title="Power drivers and energy policy")

power_opts = [
    cfg.StrOpt(
        "default_driver",
        default="none",
        help="Power driver of a host registered without one, by entry "
        "point name in the climate.power.drivers group: 'none' (the host "
        "is always on and never powered off), 'redfish' (a Redfish BMC, "
        "through sushy) or 'ipmi' (an IPMI BMC over LAN, through pyghmi).",
    ),
    cfg.FloatOpt(
        "call_timeout",
        default=10.0,
        min=0.1,
        help="Seconds one call to a host's BMC may take (connecting, "
        "reading or asking for a change) before it counts as failed.  "
        "No power call waits longer, so the manager's loop never hangs "
        "on a BMC that does not answer.",
    ),
    cfg.IntOpt(
        "graceful_timeout",
        default=120,
        min=0,
        help="Seconds a graceful shutdown may take before the host is "
        "forced off.",
    ),
    cfg.IntOpt(
        "boot_timeout",
        default=900,
        min=1,
        help="Seconds a host may take to report itself on after a power "
        "on; past that the power-on has failed.",
    ),
    cfg.FloatOpt(
        "poll_interval",
        default=2.0,
        min=0.01,
        help="Seconds between two readings of a host's power state while "
        "waiting for a change to land (BMCs apply changes late).",
    ),
    cfg.BoolOpt(
        "energy_policy",
        default=False,
        help="Power off idle hosts of the free pool, and on again before "
        "their next reservation needs them (see idle_time, margin, "
        "spare_hosts and spare_share).  Off by default: hosts stay as "
        "they are.",
    ),
    cfg.IntOpt(
        "interval",
        default=60,
        min=1,
        help="Seconds between two passes of the manager's power and "
        "health task.",
    ),
    cfg.IntOpt(
        "idle_time",
        default=30,
        min=0,
        help="Minutes a host must have been idle (no reservation holding "
        "it, powered on) before the energy policy powers it off.",
    ),
    cfg.IntOpt(
        "margin",
        default=300,
        min=0,
        help="Seconds added to a host's boot time when deciding when to "
        "power it on before its next reservation (whose window already "
        "includes its preparation lead), and when a host is too close to "
        "its next reservation to be powered off.  Keep it above "
        "interval.",
    ),
    cfg.IntOpt(
        "default_boot_time",
        default=300,
        min=0,
        help="Seconds a host is expected to take to boot until it has "
        "booted under Climate's watch; then its learned boot time is "
        "used.",
    ),
    cfg.IntOpt(
        "spare_hosts",
        default=1,
        min=0,
        help="Idle hosts kept powered on for leases that start now (the "
        "larger of this and spare_share of the idle hosts).",
    ),
    cfg.FloatOpt(
        "spare_share",
        default=0.0,
        min=0.0,
        max=1.0,
        help="Share of the idle hosts kept powered on as spares (see "
        "spare_hosts).",
    ),
    cfg.IntOpt(
        "max_failures",
        default=3,
        min=1,
        help="Failed health readings (or power-ons) in a row after which "
        "a host is marked down: no longer reservable, and its "
        "reservations healed onto other hosts.",
    ),
]


def register_opts(conf):
    for group, opts in list_opts().items():
        conf.register_group(group)
        conf.register_opts(opts, group=group)


def list_opts():
    return {power_group: power_opts}
