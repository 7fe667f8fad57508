"""Idempotency keys: a retried write gets the first answer back.

A client names a write with an ``Idempotency-Key`` header.  The API puts
the key and a fingerprint of the request (method, path and body) on the
request context; the manager records the key, in the same transaction as
the write, with its result (``claim`` then ``record``).  A retry with the
same key and the same request gets that result back (``first_result``)
instead of a second write; the same key with another request is refused
with 422.  Keys belong to a project and are kept ``[manager]
idempotency_key_lifetime`` seconds.

Both sides read the record: the API answers a retry from it even while
the broker is down, and the manager, which also sees concurrent retries,
is the one that decides.

Any write can use it, a plugin's as well as the core's, with no change
here: the manager side decorates its RPC method with ``once(operation)``
when the whole write is one database transaction (the key is then claimed
and recorded in that transaction), or with ``replayable(operation)`` and
calls ``claim`` and ``record`` itself in the transaction that creates the
thing, when the write goes on after it (RPC calls of its own that must see
its rows committed, as a block's leases).  The API route may answer a
retry early with ``first_result(context, operation)``.  ``operation``
names the write (at most 80 characters): a plugin's should not take a
name the core uses.
"""

import datetime
import functools
import hashlib
import json
import string
import time

from oslo_config import cfg
from oslo_serialization import jsonutils

from climate import clock, exceptions
from climate.db import api as db_api
from climate.db import engine

CONF = cfg.CONF

HEADER = "Idempotency-Key"
MAX_LENGTH = 255
_ALLOWED = set(string.printable) - set(string.whitespace) | {" "}
_CLAIM_ATTEMPTS = 5
_EXPIRE_EVERY = 60.0
_last_expiry = [0.0]


def check_key(value):
    """The header's value, checked.

    :raises InvalidInput: empty, too long, or with control characters.
    """
    value = value.strip()
    if not value or len(value) > MAX_LENGTH or not set(value) <= _ALLOWED:
        raise exceptions.InvalidInput(
            reason=f"{HEADER} must be 1 to {MAX_LENGTH} printable ASCII "
            "characters (a UUID is a good choice)"
        )
    return value


def fingerprint(method, path, body):
    """A digest of what a request asks: same request, same digest."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    text = f"{method.upper()} {path}\n{canonical}"
    return hashlib.sha256(text.encode()).hexdigest()


def _now():
    return clock.now()


def first_result(context, operation):
    """The first result of the context's key, or None (no key, or a key
    not seen yet).

    :raises IdempotencyKeyReused: the key was used for another request.
    """
    key = getattr(context, "idempotency_key", None)
    if not key:
        return None
    found = db_api.idempotency_key_get(context.project_id, key, _now())
    if found is None or found["result"] is None:
        return None
    if (
        found["fingerprint"] != context.idempotency_fingerprint
        or found["operation"] != operation
    ):
        raise exceptions.IdempotencyKeyReused(
            key=key,
            first=f"{found['operation']} at "
            f"{found['created_at']:%Y-%m-%d %H:%M:%S} UTC",
        )
    return json.loads(found["result"])


def claim(context, operation):
    """Record the context's key in the writer transaction open in this
    thread (no key: nothing).  Call ``record`` before it commits.

    :raises IdempotentRequestInProgress: a concurrent request holds or
        just committed the key; ``replayable`` retries then.
    """
    key = getattr(context, "idempotency_key", None)
    if not key:
        return
    now = _now()
    lifetime = datetime.timedelta(
        seconds=CONF.manager.idempotency_key_lifetime
    )
    db_api.idempotency_key_claim(
        {
            "project_id": context.project_id,
            "key": key,
            "operation": operation,
            "fingerprint": context.idempotency_fingerprint or "",
            "result": None,
            "created_at": now,
            "expires_at": now + lifetime,
        },
        now,
    )


def record(context, result):
    """Store ``result`` as the answer to the context's claimed key, as it
    will cross the RPC layer (JSON)."""
    key = getattr(context, "idempotency_key", None)
    if key:
        db_api.idempotency_key_record(
            context.project_id, key, jsonutils.dumps(result)
        )


def replayable(operation):
    """Decorate a manager write ``func(self, context, ...)`` that calls
    ``claim`` and ``record`` in its transaction: a key seen before
    returns the first result, and a concurrent request with the same key
    waits for the first to finish and returns its result.
    """

    def decorate(func):
        @functools.wraps(func)
        def wrapper(self, context, *args, **kwargs):
            for attempt in range(1, _CLAIM_ATTEMPTS + 1):
                first = first_result(context, operation)
                if first is not None:
                    return first
                try:
                    result = func(self, context, *args, **kwargs)
                except exceptions.IdempotentRequestInProgress:
                    if attempt == _CLAIM_ATTEMPTS:
                        raise
                    time.sleep(0.05 * attempt)
                    continue
                _expire_now_and_then()
                return result

        return wrapper

    return decorate


def once(operation):
    """Decorate a write ``func(self, context, ...)`` whose whole effect is
    one database transaction: the context's key is claimed, the write made
    and its result recorded in one writer transaction, so either all of it
    commits or none; a retry with the key gets the result back
    (``replayable``).  The result must be what JSON can carry (a retry gets
    it decoded from JSON: dates as ISO strings)."""

    def decorate(func):
        @functools.wraps(func)
        def in_one_transaction(self, context, *args, **kwargs):
            with engine.writer():
                claim(context, operation)
                result = func(self, context, *args, **kwargs)
                record(context, result)
            return result

        return replayable(operation)(in_one_transaction)

    return decorate


def _expire_now_and_then():
    """Forget expired keys, at most once a minute per process."""
    now = time.monotonic()
    if now - _last_expiry[0] < _EXPIRE_EVERY:
        return
    _last_expiry[0] = now
    try:
        db_api.idempotency_keys_expire(_now())
    except exceptions.ServiceUnavailable:
        pass  # next time; the outage is logged where it was found
