"""Climate's configuration: one module per option group.

Importing this package registers every group on the global ``cfg.CONF``
(oslo.messaging needs the global object).  Nothing here reads a value.
"""

from oslo_config import cfg

from climate.conf import opts

CONF = cfg.CONF

for _module in opts.MODULES:
    _module.register_opts(CONF)
