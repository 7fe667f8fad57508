"""Climate's configuration: one module per option group.

Importing this package registers every group on the global ``cfg.CONF``
(oslo.messaging needs the global object).  Nothing here reads a value.
"""

from oslo_config import cfg

from climate.conf import (
    api,
    compute,
    database,
    default,
    enforcement,
    hosts,
    manager,
    nova,
    service_credentials,
)

CONF = cfg.CONF

for _module in (
    default,
    api,
    database,
    manager,
    compute,
    hosts,
    enforcement,
    nova,
    service_credentials,
):
    _module.register_opts(CONF)
