"""The core's options, for oslo-config-generator (``climate``).

Each resource plugin brings its own group (``ResourcePlugin.list_opts``),
registered when the plugin is loaded, and its own namespace for the
generator (``climate.physical_host``, ...).
"""

from climate.conf import (
    api,
    compute,
    database,
    default,
    enforcement,
    healthcheck,
    manager,
    nova,
    placement,
    power,
    provisioning,
    queue,
    service_credentials,
)

#: Every option module, one per group.
MODULES = (
    default,
    api,
    database,
    manager,
    compute,
    enforcement,
    nova,
    placement,
    service_credentials,
    healthcheck,
    provisioning,
    power,
    queue,
)


def list_opts():
    """Return ``[(group, [opts])]`` for every group Climate defines."""
    merged = {}
    for module in MODULES:
        for group, opts in module.list_opts().items():
            merged.setdefault(group, []).extend(opts)
    return [(group, opts) for group, opts in merged.items()]
