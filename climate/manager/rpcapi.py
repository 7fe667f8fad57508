"""Client side of the manager's RPC API.

The API process calls these methods; each becomes one RPC ``call`` to a
``climate-manager`` on topic ``climate.manager`` (or to the manager of this
process in the embedded mode).  Errors the manager raises on purpose come back
as their own ``climate.exceptions`` class.

API version history:

* 1.0 - create_lease, update_lease, delete_lease, get_lease, list_leases.
* 1.1 - create_host, update_host, delete_host, update_host_property.
"""

from climate import rpc

TOPIC = "climate.manager"
RPC_API_VERSION = "1.1"


class ManagerAPI:
    """One method per manager RPC."""

    def __init__(self):
        self._client = rpc.get_client(TOPIC, RPC_API_VERSION)

    def _call(self, context, method, version="1.0", **kwargs):
        return self._client.prepare(version=version).call(
            context, method, **kwargs
        )

    def create_lease(self, context, lease_values):
        """Create a lease; return it as the manager stored it."""
        return self._call(context, "create_lease", lease_values=lease_values)

    def update_lease(self, context, lease_id, values):
        """Change a lease; return it."""
        return self._call(
            context, "update_lease", lease_id=lease_id, values=values
        )

    def delete_lease(self, context, lease_id):
        """Delete a lease, releasing its resources first if it holds any.

        :returns: None once it is gone, or the lease (DELETING) while its
            resources are still being taken back.
        """
        return self._call(context, "delete_lease", lease_id=lease_id)

    def get_lease(self, context, lease_id):
        """Return a lease of the caller's project."""
        return self._call(context, "get_lease", lease_id=lease_id)

    def list_leases(self, context, filters):
        """Return the caller's project's leases matching ``filters``."""
        return self._call(context, "list_leases", filters=filters)

    def create_host(self, context, values):
        """Register a physical host; return it."""
        return self._call(context, "create_host", version="1.1", values=values)

    def update_host(self, context, host_id, values):
        """Change a host's capabilities; return it."""
        return self._call(
            context,
            "update_host",
            version="1.1",
            host_id=host_id,
            values=values,
        )

    def delete_host(self, context, host_id):
        """Remove a host no lease holds now or later."""
        return self._call(
            context, "delete_host", version="1.1", host_id=host_id
        )

    def update_host_property(self, context, name, values):
        """Mark a host capability name private or public; return it."""
        return self._call(
            context,
            "update_host_property",
            version="1.1",
            name=name,
            values=values,
        )
