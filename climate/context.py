"""The request context: who is asking, carried from the API to the manager."""

from oslo_context import context


class RequestContext(context.RequestContext):
    """oslo.context's context; Climate adds nothing to the wire form yet."""

    @classmethod
    def admin(cls):
        """A context for the manager acting on its own behalf."""
        return cls(is_admin=True, roles=["admin"], overwrite=False)
