"""Options of the [physical:host] group: the physical host plugin."""

from oslo_config import cfg

hosts_group = cfg.OptGroup("physical:host", title="Physical host plugin")

hosts_opts = [
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


def register_opts(conf):
    conf.register_group(hosts_group)
    conf.register_opts(hosts_opts, group=hosts_group)


def list_opts():
    return {hosts_group: hosts_opts}
