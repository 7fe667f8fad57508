"""Client side of the images' and blocks' RPC API.

The ``/v1/images`` and ``/v1/blocks`` routes call these; each becomes one
RPC ``call`` on the manager's topic, in the target namespace
``provisioning``, answered by ``images.ProvisioningEndpoint``.

API version history (namespace ``provisioning``):

* 1.0 - create_image, delete_image, create_block, delete_block.
"""

from climate import rpc

NAMESPACE = "provisioning"
RPC_API_VERSION = "1.0"


class ProvisioningAPI:
    """One method per images and blocks RPC."""

    def __init__(self):
        self._client = rpc.get_client(
            rpc.MANAGER_TOPIC, RPC_API_VERSION, namespace=NAMESPACE
        )

    def _call(self, context, method, version="1.0", **kwargs):
        return self._client.prepare(version=version).call(
            context, method, **kwargs
        )

    def create_image(self, context, values):
        """Register an image; return it."""
        return self._call(context, "create_image", values=values)

    def delete_image(self, context, image_id):
        """Delete an image no reservation or block names."""
        return self._call(context, "delete_image", image_id=image_id)

    def create_block(self, context, values):
        """Create a block allocation; return it with its slots."""
        return self._call(context, "create_block", values=values)

    def delete_block(self, context, block_id):
        """Cancel a block's future slots and delete it."""
        return self._call(context, "delete_block", block_id=block_id)
