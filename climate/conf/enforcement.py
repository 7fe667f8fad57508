"""Options of the [enforcement] group: usage limits on leases.

The manager runs the enabled filters on every lease create and update,
inside the transaction that writes the lease, so a refused request leaves
nothing behind and no limit can be side-stepped by editing a lease.
"""

from oslo_config import cfg

enforcement_group = cfg.OptGroup(
    "enforcement", title="Usage enforcement (limits on leases)"
)

enforcement_opts = [
    cfg.ListOpt(
        "enabled_filters",
        default=[],
        help="Usage filters to run, by entry point name in the "
        "climate.enforcement.filters group, in this order: "
        "max_lease_duration, extension_window, project_limits and "
        "external_service.  Empty (the default) enforces nothing beyond "
        "[manager] min_lease_duration and max_lease_duration.  A name that "
        "is not installed stops the manager at start.",
    ),
    cfg.IntOpt(
        "max_lease_duration",
        default=0,
        min=0,
        help="max_lease_duration filter: longest lease, in minutes, a "
        "project may hold (end_date minus start_date, on create and on "
        "every update); 0 means no limit.  Projects in "
        "max_lease_duration_exempt_project_ids are not limited.",
    ),
    cfg.ListOpt(
        "max_lease_duration_exempt_project_ids",
        default=[],
        help="max_lease_duration filter: ids of the projects whose leases "
        "may last longer than max_lease_duration.",
    ),
    cfg.IntOpt(
        "extension_window",
        default=0,
        min=0,
        help="extension_window filter: a lease that has started may have "
        "its end_date moved later only during its last extension_window "
        "minutes; 0 lets it be extended at any time.",
    ),
    cfg.IntOpt(
        "max_extension",
        default=0,
        min=0,
        help="extension_window filter: longest extension, in minutes, of a "
        "started lease in one update (the new end_date minus the old); 0 "
        "means no limit.",
    ),
    cfg.IntOpt(
        "max_leases_per_project",
        default=0,
        min=0,
        help="project_limits filter: most leases one project may hold at "
        "any one moment (leases whose windows overlap, the new one "
        "included; TERMINATED leases do not count); 0 means no limit.",
    ),
    cfg.IntOpt(
        "max_hosts_per_project",
        default=0,
        min=0,
        help="project_limits filter: most physical hosts one project may "
        "hold at any one moment, over all its leases; 0 means no limit.",
    ),
    cfg.URIOpt(
        "external_service_url",
        schemes=["http", "https"],
        help="external_service filter: base URL of the operator's usage "
        'service.  The manager POSTs {"context": ..., "lease": ...} as '
        "JSON to <url>/check-create and <url>/check-update (which also "
        'carries "current_lease") before a lease is written, and to '
        "<url>/on-end when a lease ends or is deleted.  204 allows; 403 "
        'with {"message": ...} refuses, and the tenant gets 403 with that '
        "message.  Required when the filter is enabled.",
    ),
    cfg.StrOpt(
        "external_service_token",
        secret=True,
        help="external_service filter: a token sent as X-Auth-Token to the "
        "usage service, if it wants one.",
    ),
    cfg.FloatOpt(
        "external_service_timeout",
        default=10.0,
        min=0.1,
        help="external_service filter: seconds to wait for the usage "
        "service.  The lease's transaction stays open meanwhile, so keep "
        "it short.",
    ),
    cfg.BoolOpt(
        "external_service_fail_closed",
        default=True,
        help="external_service filter: what to do when the usage service "
        "cannot be reached or answers anything but 204 or 403.  True "
        "refuses the lease (503 to the tenant); False logs a warning and "
        "lets the lease through.",
    ),
]


def register_opts(conf):
    conf.register_group(enforcement_group)
    conf.register_opts(enforcement_opts, group=enforcement_group)


def list_opts():
    return {enforcement_group: enforcement_opts}
