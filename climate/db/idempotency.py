"""Idempotency keys.  Re-exported by ``climate.db.api``."""

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from climate import exceptions
from climate.db import engine, models

_T = models.IdempotencyKey


def _row_dict(row):
    return {
        "project_id": row.project_id,
        "key": row.key,
        "operation": row.operation,
        "fingerprint": row.fingerprint,
        "result": row.result,
        "created_at": row.created_at,
        "expires_at": row.expires_at,
    }


def idempotency_key_get(project_id, key, now):
    """The record of ``key`` for ``project_id``, or None (none, or it
    expired before ``now``)."""
    with engine.reader() as session:
        row = session.get(_T, (project_id, key))
        if row is None or row.expires_at <= now:
            return None
        return _row_dict(row)


def idempotency_key_claim(values, now):
    """Insert the record of a key in the writer transaction open in this
    thread, its result still unknown; an expired record of the key is
    replaced.

    :raises IdempotentRequestInProgress: another transaction holds or
        committed the key (the caller retries, and finds its result).
    """
    with engine.writer() as session:
        session.execute(
            sa.delete(_T).where(
                _T.project_id == values["project_id"],
                _T.key == values["key"],
                _T.expires_at <= now,
            )
        )
        try:
            with session.begin_nested():
                session.add(_T(**values))
        except sa_exc.IntegrityError as exc:
            raise exceptions.IdempotentRequestInProgress(
                key=values["key"]
            ) from exc


def idempotency_key_record(project_id, key, result):
    """Store the result (JSON text) of a claimed key, in the same
    transaction as the claim."""
    with engine.writer() as session:
        session.execute(
            sa.update(_T)
            .where(_T.project_id == project_id, _T.key == key)
            .values(result=result)
        )


def idempotency_keys_expire(now, limit=500):
    """Delete up to ``limit`` records expired before ``now``; return how
    many."""
    with engine.writer() as session:
        ids = session.execute(
            sa.select(_T.project_id, _T.key)
            .where(_T.expires_at <= now)
            .limit(limit)
        ).all()
        for project_id, key in ids:
            session.execute(
                sa.delete(_T).where(
                    _T.project_id == project_id,
                    _T.key == key,
                    _T.expires_at <= now,
                )
            )
        return len(ids)
