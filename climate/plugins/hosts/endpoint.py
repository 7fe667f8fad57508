"""The manager's side of the physical:host plugin's RPC API: the endpoint
``rpcapi.HostAPI`` calls (see its version history)."""

import oslo_messaging as messaging

from climate import exceptions
from climate.common import idempotency
from climate.plugins.hosts import rpcapi

_expected = messaging.expected_exceptions(exceptions.ClimateException)


class HostEndpoint:
    """Operator actions on the host inventory, served beside the manager's
    own endpoint, in the namespace ``physical_host``.

    :param inventory: the plugin's ``HostInventory``.
    """

    target = messaging.Target(
        namespace=rpcapi.NAMESPACE, version=rpcapi.RPC_API_VERSION
    )

    def __init__(self, inventory):
        self._inventory = inventory

    @messaging.expose
    @_expected
    @idempotency.once("create_host")
    def create_host(self, context, values):
        """Register a host; return it (a retry with the request's
        Idempotency-Key: the host it registered)."""
        return self._inventory.create(values)

    @messaging.expose
    @_expected
    def update_host(self, context, host_id, values):
        """Change a host's capabilities; return it."""
        return self._inventory.update(host_id, values)

    @messaging.expose
    @_expected
    def delete_host(self, context, host_id):
        """Remove a host no lease holds now or later."""
        self._inventory.delete(host_id)

    @messaging.expose
    @_expected
    def update_host_property(self, context, name, values):
        """Mark a capability name private or public; return it."""
        return self._inventory.update_property(name, values)
