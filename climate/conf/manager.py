"""Options of the [manager] group: plugins, leases and the event loop."""

from oslo_config import cfg

manager_group = cfg.OptGroup("manager", title="Manager options")

manager_opts = [
    cfg.ListOpt(
        "plugins",
        default=["physical.host.plugin", "virtual.instance.plugin"],
        help="Resource plugins to load, by entry point name in the "
        "climate.resource.plugins group.  Each serves one resource_type; a "
        "name that is not installed, or two plugins for one resource type, "
        "stop the manager and the API at start.  The API serves the routes "
        "of these plugins only, so give the API and the managers the same "
        "list.  Leases without "
        "reservations work with no plugin at all.",
    ),
    cfg.IntOpt(
        "idempotency_key_lifetime",
        default=86400,
        min=60,
        help="Seconds a write sent with an Idempotency-Key header is "
        "remembered: a retry with the same key within this time gets the "
        "first answer back instead of a second change (the same key with "
        "another request is refused with 422).  Older keys are forgotten.",
    ),
    cfg.IntOpt(
        "minutes_before_end_lease",
        default=60,
        min=0,
        help="When a lease gives no before_end_date, its before_end_lease "
        "event runs this many minutes before its end (or at its start, if "
        "the lease is shorter).  0 puts the event at the end.",
    ),
    cfg.IntOpt(
        "min_lease_duration",
        default=1,
        min=0,
        help="Shortest lease accepted, in minutes; 0 accepts any lease that "
        "ends after it starts.",
    ),
    cfg.IntOpt(
        "max_lease_duration",
        default=0,
        min=0,
        help="Longest lease accepted, in minutes; 0 means no limit.",
    ),
    cfg.IntOpt(
        "booking_horizon",
        default=365,
        min=0,
        help="How far ahead a lease may end, in days from now: a create or "
        "an update whose end_date falls later is refused (400).  0 means "
        "no limit.",
    ),
    cfg.FloatOpt(
        "poll_interval",
        default=10.0,
        min=0.1,
        help="Longest time, in seconds, the event loop sleeps.  It wakes "
        "earlier for the next due event and whenever this manager creates "
        "or changes a lease; the interval bounds how late a manager sees "
        "events created by another manager.",
    ),
    cfg.IntOpt(
        "event_max_attempts",
        default=5,
        min=1,
        help="How many times an event's hooks run before Climate gives up "
        "on it: the event is ERROR, and so are its lease and reservations "
        "(or, for a stage that should not fail a working lease, the lease "
        "is marked degraded).",
    ),
    cfg.FloatOpt(
        "event_retry_backoff",
        default=2.0,
        min=0,
        help="Seconds before the first retry of a failed event; each "
        "further retry waits twice as long as the one before.",
    ),
    cfg.IntOpt(
        "event_workers",
        default=8,
        min=1,
        help="How many events one manager runs at once.  A manager claims "
        "only as many due events as it has idle workers, so a slow hook "
        "delays no other lease, and what it cannot start now stays for "
        "the other managers.",
    ),
    cfg.FloatOpt(
        "claim_timeout",
        default=10.0,
        min=1,
        help="Seconds a claim on an event lasts without being renewed.  "
        "While a hook runs, its manager renews the claim every "
        "heartbeat_interval; a manager that died stops renewing, and "
        "another manager takes the event over this many seconds later.  "
        "Must be several times heartbeat_interval.",
    ),
    cfg.FloatOpt(
        "heartbeat_interval",
        default=2.0,
        min=0.1,
        help="Seconds between two renewals of a manager's claims on the "
        "events it is running (see claim_timeout).",
    ),
    cfg.IntOpt(
        "hook_timeout",
        default=900,
        min=1,
        deprecated_name="event_timeout",
        help="Seconds an event's plugin hooks may run before the attempt "
        "counts as failed and is retried.  Must be longer than the slowest "
        "hook (a compute reclaim waits up to [nova] reclaim_timeout).",
    ),
    cfg.FloatOpt(
        "act_now_wait",
        default=10.0,
        min=0,
        help="Seconds a lease update or delete that must act on the cloud "
        "at once (hand resources added to an active lease over, take an "
        "active lease's resources back) waits for that to finish before "
        "it answers.  Past it the answer shows the lease still UPDATING or "
        "DELETING, and the work goes on.",
    ),
]


def register_opts(conf):
    conf.register_group(manager_group)
    conf.register_opts(manager_opts, group=manager_group)


def list_opts():
    return {manager_group: manager_opts}
