"""The request context: who is asking, carried from the API to the manager.

oslo.context keeps a per-thread "current" context, which oslo.log prints
on every log line of that thread that names no context of its own.  Left
to itself it makes a new context current whenever none is, so the first
context a long-lived thread builds (the event loop announcing a lease's
start, an API worker serving its first request) would stay on all that
thread's later lines.  Climate makes a context current only for the span
of what it belongs to: ``current()`` around a request or an RPC call.
"""

import contextlib

from oslo_context import context

# oslo.context's per-thread store of the current context; it offers no
# function to empty it.
_store = context._request_store


class RequestContext(context.RequestContext):
    """oslo.context's context, plus the client's idempotency key.

    ``idempotency_key`` and ``idempotency_fingerprint`` (what the request
    asked, as a digest) travel with a write from the API to the manager,
    which answers a repeated key with the first result (see
    ``climate.manager.idempotency``).

    Building one never makes it the thread's current context unless
    ``overwrite=True`` is asked for (see ``current()``).
    """

    FROM_DICT_EXTRA_KEYS = ["idempotency_key", "idempotency_fingerprint"]

    def __init__(
        self,
        *args,
        overwrite=False,
        idempotency_key=None,
        idempotency_fingerprint=None,
        **kwargs,
    ):
        before = context.get_current()
        super().__init__(*args, overwrite=overwrite, **kwargs)
        self.idempotency_key = idempotency_key
        self.idempotency_fingerprint = idempotency_fingerprint
        if not overwrite and before is None:
            # oslo.context made it current because none was.
            clear_current()

    def to_dict(self):
        values = super().to_dict()
        values["idempotency_key"] = self.idempotency_key
        values["idempotency_fingerprint"] = self.idempotency_fingerprint
        return values

    @classmethod
    def admin(cls):
        """A context for the manager acting on its own behalf."""
        return cls(is_admin=True, roles=["admin"])


def clear_current():
    """Leave this thread without a current context."""
    _store.__dict__.pop("context", None)


@contextlib.contextmanager
def restored():
    """Put this thread's current context (or none) back after a block,
    whatever the block made current."""
    before = context.get_current()
    try:
        yield
    finally:
        if before is None:
            clear_current()
        else:
            before.update_store()


@contextlib.contextmanager
def current(ctxt):
    """Make ``ctxt`` this thread's current context for a block."""
    with restored():
        ctxt.update_store()
        yield ctxt
