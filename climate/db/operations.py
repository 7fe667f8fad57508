"""Figures for operators: whether the database answers, and what the
metrics endpoint reports.  Read at scrape time, so they are right however
many managers share the database.

(``climate.db.api`` is the facade the rest of Climate imports; it should
re-export these, as it does the host modules.)
"""

import sqlalchemy as sa

from climate import states
from climate.db import engine, models


def database_ping():
    """Run a trivial query; raise whatever the database raises."""
    with engine.reader() as session:
        session.execute(sa.text("SELECT 1"))


def lease_counts_by_status():
    """``{status: number of leases}``."""
    with engine.reader() as session:
        rows = session.execute(
            sa.select(models.Lease.status, sa.func.count()).group_by(
                models.Lease.status
            )
        )
        return {status: count for status, count in rows}


def event_counts_by_type_and_status():
    """``{(event_type, status): number of events}``."""
    with engine.reader() as session:
        rows = session.execute(
            sa.select(
                models.Event.event_type, models.Event.status, sa.func.count()
            ).group_by(models.Event.event_type, models.Event.status)
        )
        return {(kind, status): count for kind, status, count in rows}


def event_oldest_due_time(now):
    """The time of the oldest event due at ``now`` and not run yet
    (UNDONE, its time come and no retry delay pending), or None."""
    event = models.Event
    with engine.reader() as session:
        return session.scalar(
            sa.select(sa.func.min(event.time)).where(
                event.status == states.EventStatus.UNDONE,
                event.time <= now,
                sa.or_(event.retry_at.is_(None), event.retry_at <= now),
            )
        )
