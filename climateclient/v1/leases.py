"""Leases: ``/v1/leases``."""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from climateclient import exceptions

_UUID_RE = re.compile(
    r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$",
    re.IGNORECASE,
)
_UPDATE_FIELDS = (
    "name",
    "start_date",
    "end_date",
    "before_end_date",
    "prolong_for",
    "reduce_by",
    "defer_by",
    "advance_by",
    "reservations",
)


def looks_like_uuid(value: str | None) -> bool:
    return bool(_UUID_RE.match(value or ""))


def _path(lease_id):
    return "/leases/" + urllib.parse.quote(str(lease_id), safe="")


class LeaseManager:
    """Create, read, change and delete the leases of the caller's project
    (every project's, for an admin).

    Dates are passed through to the server untouched: ``"now"``,
    ``"YYYY-MM-DD HH:MM"`` (UTC) or ISO 8601; shifts such as
    ``prolong_for="1d"`` are computed by the server.
    """

    def __init__(self, api):
        self._api = api

    def list(
        self,
        *,
        name: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        marker: str | None = None,
        all_projects: bool = False,
    ) -> list[dict[str, Any]]:
        """The leases, oldest first.

        Without ``limit`` every page is fetched; with it, one page of at
        most ``limit`` leases after ``marker`` (a lease id).
        ``all_projects`` lists every project's leases (admins).
        """
        params = {"name": name, "status": status, "limit": limit}
        params = {k: v for k, v in params.items() if v is not None}
        if all_projects:
            params["all_projects"] = "1"
        leases = []
        while True:
            if marker:
                params["marker"] = marker
            body = self._api.get("/leases", params=params)
            page = body["leases"]
            leases.extend(page)
            if limit is not None or not page or "leases_links" not in body:
                return leases
            marker = page[-1]["id"]

    def get(self, lease_id: str) -> dict[str, Any]:
        return self._api.get(_path(lease_id))["lease"]

    def find(
        self, name_or_id: str, all_projects: bool = False
    ) -> dict[str, Any]:
        """The lease with this id, or else the only one with this name
        (in the caller's project, or in every project with
        ``all_projects``).

        :raises NotFound: no lease has that id or name.
        :raises NoUniqueMatch: several leases have that name.
        """
        by_id = None
        if looks_like_uuid(name_or_id):
            try:
                return self.get(name_or_id)
            except exceptions.NotFound as exc:
                by_id = exc  # A lease may still be named like a UUID.
        matches = self.list(name=name_or_id, all_projects=all_projects)
        if not matches and by_id is not None:
            raise by_id  # The server's own answer says it best.
        if not matches:
            raise exceptions.NotFound(
                f"No lease with a name or ID of {name_or_id!r} exists",
                name="LeaseNotFound",
            )
        if len(matches) > 1:
            ids = ", ".join(lease["id"] for lease in matches)
            raise exceptions.NoUniqueMatch(
                f"{len(matches)} leases are named {name_or_id!r} ({ids}); "
                "give an ID instead"
            )
        return matches[0]

    def create(
        self,
        name: str,
        start_date: str,
        end_date: str | None,
        reservations: list[dict[str, Any]] | None = None,
        before_end_date: str | None = None,
        events: list[dict[str, Any]] | None = None,
        kind: str | None = None,
        duration: str | None = None,
        requeue: bool | None = None,
    ) -> dict[str, Any]:
        """Create a lease; return it (status PENDING; QUEUED for a
        best-effort lease).

        :param reservations: ``[{"resource_type": "physical:host", "min": 1,
            "max": 2, "resource_properties": '["==", "$gpu", "a100"]'}]``.
        :param kind: ``advance`` (the service's default), ``best_effort``
            (give ``duration`` and no ``end_date``; ``start_date`` is the
            earliest start) or ``preemptible``.
        :raises Conflict: not enough capacity for the window (409).
        :raises BadRequest: invalid dates or reservation fields (400).
        """
        body = {
            "name": name,
            "start_date": start_date,
            "reservations": list(reservations or []),
            "events": list(events or []),
        }
        if end_date is not None:
            body["end_date"] = end_date
        if before_end_date is not None:
            body["before_end_date"] = before_end_date
        for field, value in (
            ("kind", kind),
            ("duration", duration),
            ("requeue", requeue),
        ):
            if value is not None:
                body[field] = value
        return self._api.post("/leases", body)["lease"]

    def update(self, lease_id: str, **values: Any) -> dict[str, Any]:
        """Change a lease; return it.

        :param values: any of ``name``, ``start_date``, ``end_date``,
            ``before_end_date``, ``prolong_for``, ``reduce_by``,
            ``defer_by``, ``advance_by`` (durations such as ``"2h"``,
            ``"1d"``) and ``reservations`` (``[{"id": ..., "max": 3}]``);
            None values are left out.
        """
        unknown = sorted(set(values) - set(_UPDATE_FIELDS))
        if unknown:
            raise TypeError(f"unknown lease field(s) {', '.join(unknown)}")
        body = {k: v for k, v in values.items() if v is not None}
        return self._api.put(_path(lease_id), body)["lease"]

    def extension(self, lease_id: str) -> dict[str, Any]:
        """How far the lease's end could move now: ``latest_end_date``
        (None: no limit), the ``binding`` limit, the ``prolong_for`` that
        reaches it, the same ``with_swap``, the ``limits`` and each
        reservation's answer.

        :raises Conflict: the lease is neither PENDING nor ACTIVE (409).
        """
        return self._api.get(_path(lease_id) + "/extension")["extension"]

    def delete(self, lease_id: str) -> None:
        self._api.delete(_path(lease_id))
