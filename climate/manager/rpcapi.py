"""Client side of the manager's RPC API.

The API process calls these methods; each becomes one RPC ``call`` to a
``climate-manager`` on topic ``climate.manager`` (or to the manager of this
process in the embedded mode).  Errors the manager raises on purpose come back
as their own ``climate.exceptions`` class.

A resource plugin's own RPC methods go to the same topic in the plugin's
target namespace, with a version history of their own (the plugin's
``rpcapi`` module).

API version history:

* 1.0 - create_lease, update_lease, delete_lease, get_lease, list_leases.
* 1.1 - create_host, update_host, delete_host, update_host_property.
* 2.0 - The host methods of 1.1 moved to the namespace of the plugin
  that reserves hosts (``physical_host`` 1.0, ``climate.plugins.hosts.
  rpcapi``); the lease methods are unchanged.  A 1.x client cannot call a
  2.0 manager: upgrade the API and the managers together.
"""

from oslo_config import cfg

from climate import rpc

CONF = cfg.CONF

TOPIC = rpc.MANAGER_TOPIC
RPC_API_VERSION = "2.0"


class ManagerAPI:
    """One method per manager RPC.

    Over a broker, a call waits ``[api] write_timeout`` seconds for its
    answer (an update or delete, which may wait for the cloud, ``[manager]
    act_now_wait`` more) and fails fast when the broker is unreachable
    (``rpc.BrokerClient``).
    """

    def __init__(self):
        self._client = rpc.get_client(TOPIC, RPC_API_VERSION)

    def _call(self, context, method, version="2.0", acts=False, **kwargs):
        timeout = CONF.api.write_timeout
        if acts:
            timeout += CONF.manager.act_now_wait
        return self._client.prepare(version=version, timeout=timeout).call(
            context, method, **kwargs
        )

    def create_lease(self, context, lease_values):
        """Create a lease; return it as the manager stored it."""
        return self._call(context, "create_lease", lease_values=lease_values)

    def update_lease(self, context, lease_id, values):
        """Change a lease; return it."""
        return self._call(
            context,
            "update_lease",
            acts=True,
            lease_id=lease_id,
            values=values,
        )

    def delete_lease(self, context, lease_id):
        """Delete a lease, releasing its resources first if it holds any.

        :returns: None once it is gone, or the lease (DELETING) while its
            resources are still being taken back.
        """
        return self._call(
            context, "delete_lease", acts=True, lease_id=lease_id
        )

    def get_lease(self, context, lease_id):
        """Return a lease of the caller's project."""
        return self._call(context, "get_lease", lease_id=lease_id)

    def list_leases(self, context, filters):
        """Return the caller's project's leases matching ``filters``."""
        return self._call(context, "list_leases", filters=filters)
