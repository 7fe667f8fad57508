"""Allocations: which reservations hold which resources, and when."""

from __future__ import annotations

import urllib.parse
from typing import Any

_RESOURCE_PATHS = {"host": "/os-hosts"}
RESOURCE_TYPES = tuple(_RESOURCE_PATHS)


def _filters(lease_id, reservation_id, start, end):
    params = {
        "lease_id": lease_id,
        "reservation_id": reservation_id,
        "start": start,
        "end": end,
    }
    return {k: v for k, v in params.items() if v is not None}


def _base(resource_type):
    try:
        return _RESOURCE_PATHS[resource_type]
    except KeyError:
        raise ValueError(
            f"unknown resource type {resource_type!r}; one of "
            f"{', '.join(RESOURCE_TYPES)}"
        )


class AllocationManager:
    """Allocations of one resource type (``"host"``).

    Each allocation is ``{"resource_id": ..., "reservations": [{"id",
    "lease_id", "start_date", "end_date"}]}``; the filters narrow the
    reservations to one lease, one reservation or a window.
    """

    def __init__(self, api):
        self._api = api

    def list(
        self,
        resource_type: str = "host",
        *,
        lease_id: str | None = None,
        reservation_id: str | None = None,
        start: str | None = None,
        end: str | None = None,
    ) -> list[dict[str, Any]]:
        path = _base(resource_type) + "/allocations"
        params = _filters(lease_id, reservation_id, start, end)
        return self._api.get(path, params=params)["allocations"]

    def get(
        self,
        resource_type: str,
        resource_id: str,
        *,
        lease_id: str | None = None,
        reservation_id: str | None = None,
        start: str | None = None,
        end: str | None = None,
    ) -> dict[str, Any]:
        quoted = urllib.parse.quote(str(resource_id), safe="")
        path = f"{_base(resource_type)}/{quoted}/allocation"
        params = _filters(lease_id, reservation_id, start, end)
        return self._api.get(path, params=params)["allocation"]
