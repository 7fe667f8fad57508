"""Options of the [compute] group: the compute driver and its pools."""

from oslo_config import cfg

compute_group = cfg.OptGroup("compute", title="Compute driver options")

compute_opts = [
    cfg.StrOpt(
        "driver",
        default="local",
        help="Compute driver of the physical:host plugin, by entry point "
        "name in the climate.compute.drivers group: 'local' keeps the host "
        "inventory and host pools in Climate's own database (the embedded "
        "default, and the answer for sites without Nova); 'nova' keeps "
        "them as host aggregates in Nova, through the manager's "
        "[service_credentials] (see the [nova] group).",
    ),
    cfg.StrOpt(
        "freepool_name",
        default="freepool",
        help="Name of the pool holding reservable hosts between leases, "
        "hidden from on-demand scheduling.",
    ),
]


def register_opts(conf):
    conf.register_group(compute_group)
    conf.register_opts(compute_opts, group=compute_group)


def list_opts():
    return {compute_group: compute_opts}
