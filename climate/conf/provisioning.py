"""Options of the provisioning drivers and OS modules.

[provisioning] chooses the drivers hosts use by default and how loads are
paced; [ironic], [ssh] and [simulated_provisioning] configure one driver
or module each.  The physical:host plugin's own pacing of the prepare and
reclaim stages (margins, attempts, estimates) is in its [physical:host]
group.
"""

from oslo_config import cfg

provisioning_group = cfg.OptGroup(
    "provisioning", title="Provisioning drivers and OS modules"
)
ironic_group = cfg.OptGroup("ironic", title="Ironic provisioning driver")
ssh_group = cfg.OptGroup("ssh", title="ssh OS module")
simulated_group = cfg.OptGroup(
    "simulated_provisioning", title="simulated provisioning driver"
)

provisioning_opts = [
    cfg.StrOpt(
        "default_driver",
        default="simulated",
        help="Provisioning driver of a host registered without one, by "
        "entry point name in the climate.provisioning.drivers group: "
        "'ironic' loads images on bare metal through the Ironic API (see "
        "[ironic]); 'simulated' loads nothing and draws load times and "
        "failures from [simulated_provisioning], for the embedded "
        "service, demos and benchmarks.",
    ),
    cfg.StrOpt(
        "default_os_module",
        default="none",
        help="OS module of a host registered without one, by entry point "
        "name in the climate.os_modules group: 'ssh' waits for sshd and "
        "runs its checks over SSH (see [ssh]); 'none' trusts the load and "
        "cannot tell whether a user logged in (so reclaim always "
        "reloads); 'simulated' answers from [simulated_provisioning].",
    ),
    cfg.IntOpt(
        "max_concurrent_loads",
        default=4,
        min=1,
        help="How many loads one provisioning driver runs at once.  "
        "Preparations are planned so that no more overlap: a block of 40 "
        "hosts starts its loads in waves, the first ones earlier.",
    ),
    cfg.FloatOpt(
        "timeout_growth",
        default=1.5,
        min=1.0,
        help="Each attempt of a load or post-load waits this many times "
        "longer than the one before (attempt n waits timeout * "
        "timeout_growth ** (n - 1)).",
    ),
]

ironic_opts = [
    cfg.StrOpt(
        "endpoint_override",
        help="URL of the Bare Metal API (such as http://127.0.0.1:6385).  "
        "Unset: the catalog of [service_credentials]' Keystone.",
    ),
    cfg.StrOpt(
        "interface",
        default="internal",
        help="Endpoint interface in the catalog: public, internal, admin.",
    ),
    cfg.StrOpt("region_name", help="Region of the Bare Metal endpoint."),
    cfg.StrOpt(
        "api_version",
        default="1.81",
        help="Bare Metal API microversion of Climate's calls.",
    ),
    cfg.IntOpt(
        "deploy_timeout",
        default=1800,
        min=1,
        help="Seconds the first attempt of a load waits for the node to be "
        "active; later attempts wait longer ([provisioning] "
        "timeout_growth).",
    ),
    cfg.FloatOpt(
        "poll_interval",
        default=2.0,
        min=0.05,
        help="Seconds between two looks at a node being deployed.",
    ),
    cfg.StrOpt(
        "address_field",
        default="address",
        help="Key of the node's 'extra' that holds the address users "
        "reach the host at (standalone Ironic has no IP address of its "
        "own); read again after every load.",
    ),
    cfg.IntOpt(
        "retries",
        default=2,
        min=0,
        help="Retries of a call that met a connection error or a 5xx.",
    ),
]

ssh_opts = [
    cfg.StrOpt(
        "user",
        default="root",
        help="Account Climate logs in with to check and sanitize a host.",
    ),
    cfg.StrOpt(
        "key_file",
        help="Private key of that account (unset: the SSH agent and the "
        "default keys of the manager's user).",
    ),
    cfg.PortOpt("port", default=22, help="Port of sshd on the hosts."),
    cfg.StrOpt(
        "known_hosts_file",
        help="Host keys to trust.  Unset: hosts' keys are accepted as "
        "they are (a freshly loaded host has a new key every time).",
    ),
    cfg.IntOpt(
        "boot_timeout",
        default=600,
        min=1,
        help="Seconds the first attempt of a post-load waits for sshd to "
        "answer; later attempts wait longer ([provisioning] "
        "timeout_growth).",
    ),
    cfg.FloatOpt(
        "command_timeout",
        default=60.0,
        min=0.1,
        help="Seconds one remote command may run.",
    ),
    cfg.ListOpt(
        "checks",
        default=["true"],
        help="Commands that must all exit 0 for a loaded host to be "
        "ready (post-load).",
    ),
    cfg.StrOpt(
        "tenant_user",
        default="cloud-user",
        help="Account the lease's owner uses on the host; {tenant_user} "
        "in the commands below.",
    ),
    cfg.StrOpt(
        "login_check_command",
        default="TZ=UTC last --since '{since_utc}' {tenant_user} "
        "| grep -q ' pts/'",
        help="Command that exits 0 if the tenant logged in since the "
        "lease began ({since_utc}: 'YYYY-MM-DD HH:MM:SS' in UTC; {since}: "
        "seconds since the epoch), 1 if not; anything else means Climate "
        "cannot tell (and reloads).  The default reads wtmp, where sshd "
        "records interactive (terminal) logins; Climate's own commands "
        "open none.",
    ),
    cfg.StrOpt(
        "sanitize_command",
        default="pkill -KILL -u {tenant_user}; "
        "rm -f ~{tenant_user}/.ssh/authorized_keys",
        help="Command that removes the tenant's access and ends their "
        "sessions; exit 0 means the host is clean.",
    ),
]

simulated_opts = [
    cfg.DictOpt(
        "load_times",
        default={},
        help="True load time in seconds of each image, by image name "
        "(image:seconds,...); an image not listed loads in its default "
        "load time.  Lets a demo or a benchmark see estimates learn.",
    ),
    cfg.FloatOpt(
        "noise",
        default=0.0,
        min=0.0,
        max=0.95,
        help="Each load takes the true time times a factor drawn "
        "uniformly from [1 - noise, 1 + noise].",
    ),
    cfg.FloatOpt(
        "retry_rate",
        default=0.0,
        min=0.0,
        max=1.0,
        help="Share of loads that fail in a way worth retrying.",
    ),
    cfg.FloatOpt(
        "fatal_rate",
        default=0.0,
        min=0.0,
        max=1.0,
        help="Share of loads that fail for good (the host is broken).",
    ),
    cfg.FloatOpt(
        "login_rate",
        default=0.5,
        min=0.0,
        max=1.0,
        help="Share of leases whose user logs in (the 'simulated' OS "
        "module's answer at reclaim).",
    ),
    cfg.FloatOpt(
        "time_scale",
        default=0.0,
        min=0.0,
        help="Real seconds a load sleeps per simulated second (0: none; "
        "the load's simulated end is still what the host reports as its "
        "ready time).",
    ),
    cfg.IntOpt(
        "seed",
        help="Seed of the random draws, for runs that repeat exactly.",
    ),
]


def register_opts(conf):
    for group, opts in list_opts().items():
        conf.register_group(group)
        conf.register_opts(opts, group=group)


def list_opts():
    return {
        provisioning_group: provisioning_opts,
        ironic_group: ironic_opts,
        ssh_group: ssh_opts,
        simulated_group: simulated_opts,
    }
