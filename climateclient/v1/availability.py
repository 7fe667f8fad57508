"""Availability search: ``/v1/availability``."""

from __future__ import annotations

from typing import Any


class AvailabilityManager:
    """When would a reservation request be granted."""

    def __init__(self, api):
        self._api = api

    def search(
        self,
        resource_type: str,
        duration: str,
        *,
        after: str | None = None,
        before: str | None = None,
        limit: int | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """The earliest windows in which the request would be granted.

        :param duration: how long the lease would last (``"2h"``, ``"1d"``).
        :param after: the earliest start (default: now); ``before`` the
            latest end (default: 90 days later).
        :param fields: the reservation's own fields, such as ``count=2``
            and ``resource_properties='["==", "$gpu", "a100"]'``.
        :returns: ``{"resource_type", "after", "before", "duration",
            "windows": [{"start_date", "end_date", "latest_start_date",
            "max_end_date", "max_duration", "free"}]}``.
        :raises BadRequest: a malformed request (400).
        """
        params = {
            "resource_type": resource_type,
            "duration": duration,
            "after": after,
            "before": before,
            "limit": limit,
            **fields,
        }
        params = {k: v for k, v in params.items() if v is not None}
        return self._api.get("/availability", params=params)["availability"]
