"""Options of the [queue] group: the scheduler of best-effort leases."""

from oslo_config import cfg

queue_group = cfg.OptGroup("queue", title="Best-effort queue options")

queue_opts = [
    cfg.FloatOpt(
        "interval",
        default=10.0,
        min=0.05,
        help="Seconds between two passes of the scheduler that places "
        "queued best-effort leases.  A manager also runs a pass at once "
        "when a lease is queued or capacity frees (a lease deleted, "
        "shortened or ended); the interval bounds how late it sees what "
        "another manager freed.",
    ),
    cfg.StrOpt(
        "order",
        default="fcfs",
        help="In which order the scheduler tries queued leases: the name "
        "of an entry point in the climate.queue.orders group.  Installed: "
        "fcfs (first come, first served: by creation) and shortest_first "
        "(by duration, then by creation).  Related: backfilling.",
    ),
    cfg.BoolOpt(
        "backfilling",
        default=True,
        help="Whether a queued lease may be placed before the head of the "
        "queue when the head cannot start yet, as long as the head's "
        "earliest possible start does not move.  False: strictly in "
        "order, nothing passes a lease that waits.  Related: order.",
    ),
    cfg.StrOpt(
        "preemption",
        default="advance",
        help="Which leases may end preemptible leases early: the name of "
        "an entry point in the climate.queue.preemption group.  "
        "Installed: advance (an advance lease refused for want of capacity "
        "is granted if ending preemptible leases early makes room) and "
        "none (preemptible leases are never preempted).  Related: "
        "preemption_notice.",
    ),
    cfg.IntOpt(
        "preemption_notice",
        default=15,
        min=0,
        help="Minutes before a preempted lease's new end at which its "
        "before_end_lease event runs (its before-end notice and hook), or "
        "at once if less time is left.  Related: preemption.",
    ),
]


def register_opts(conf):
    conf.register_group(queue_group)
    conf.register_opts(queue_opts, group=queue_group)


def list_opts():
    return {queue_group: queue_opts}
