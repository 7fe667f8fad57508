"""Client side of the physical:host plugin's RPC API.

The host API routes call these methods; each becomes one RPC ``call`` to a
``climate-manager`` on the manager's topic, in the plugin's own target
namespace ``physical_host``, answered by ``endpoint.HostEndpoint``.

API version history (namespace ``physical_host``):

* 1.0 - create_host, update_host, delete_host, update_host_property
  (until then version 1.1 of the manager's own API).
"""

from climate import rpc

NAMESPACE = "physical_host"
RPC_API_VERSION = "1.0"


class HostAPI:
    """One method per host RPC."""

    def __init__(self):
        self._client = rpc.get_client(
            rpc.MANAGER_TOPIC, RPC_API_VERSION, namespace=NAMESPACE
        )

    def _call(self, context, method, version="1.0", **kwargs):
        return self._client.prepare(version=version).call(
            context, method, **kwargs
        )

    def create_host(self, context, values):
        """Register a physical host; return it."""
        return self._call(context, "create_host", values=values)

    def update_host(self, context, host_id, values):
        """Change a host's capabilities; return it."""
        return self._call(
            context, "update_host", host_id=host_id, values=values
        )

    def delete_host(self, context, host_id):
        """Remove a host no lease holds now or later."""
        return self._call(context, "delete_host", host_id=host_id)

    def update_host_property(self, context, name, values):
        """Mark a host capability name private or public; return it."""
        return self._call(
            context, "update_host_property", name=name, values=values
        )
