"""Physical hosts and their properties: ``/v1/os-hosts``."""

from __future__ import annotations

import urllib.parse
from typing import Any

from climateclient import exceptions


def _path(host_id):
    return "/os-hosts/" + urllib.parse.quote(str(host_id), safe="")


class HostManager:
    """The host inventory (an operator's job).

    A host is a dict with ``id`` (a string of digits),
    ``hypervisor_hostname``, the inventory fields (``vcpus``, ...) and its
    extra capabilities as top-level keys.
    """

    def __init__(self, api):
        self._api = api

    def list(self) -> list[dict[str, Any]]:
        return self._api.get("/os-hosts")["hosts"]

    def get(self, host_id: str) -> dict[str, Any]:
        return self._api.get(_path(host_id))["host"]

    def find(self, name_or_id: str) -> dict[str, Any]:
        """The host with this id, or else with this hypervisor hostname.

        :raises NotFound: no host has that id or name.
        :raises NoUniqueMatch: several hosts have that name.
        """
        hosts = self.list()
        for host in hosts:
            if str(host["id"]) == str(name_or_id):
                return host
        matches = [h for h in hosts if h["hypervisor_hostname"] == name_or_id]
        if not matches:
            raise exceptions.NotFound(
                f"No host with a name or ID of {name_or_id!r} exists",
                name="HostNotFound",
            )
        if len(matches) > 1:
            raise exceptions.NoUniqueMatch(
                f"{len(matches)} hosts are named {name_or_id!r}; give an ID "
                "instead"
            )
        return matches[0]

    def create(self, name: str, **values: Any) -> dict[str, Any]:
        """Register a host: its name (hypervisor hostname), inventory
        fields and extra capabilities (``gpu="a100"``)."""
        return self._api.post("/os-hosts", {"name": name, **values})["host"]

    def update(self, host_id: str, values: dict[str, Any]) -> dict[str, Any]:
        """Change capabilities (a None value removes one) or
        ``reservable``; return the host."""
        return self._api.put(_path(host_id), dict(values))["host"]

    def delete(self, host_id: str) -> None:
        self._api.delete(_path(host_id))


class HostPropertyManager:
    """The capability names hosts have, and whether each is private."""

    def __init__(self, api):
        self._api = api

    def list(self, detail: bool = False) -> list[dict[str, Any]]:
        """``[{"property": name}]``; with ``detail``, also ``private``
        and ``values``."""
        params = {"detail": "True"} if detail else None
        return self._api.get("/os-hosts/properties", params=params)[
            "resource_properties"
        ]

    def get(self, name: str) -> dict[str, Any]:
        """One property with its details.

        :raises NotFound: no host has that property.
        """
        for prop in self.list(detail=True):
            if prop["property"] == name:
                return prop
        raise exceptions.NotFound(
            f"No host has a property named {name!r}",
            name="HostPropertyNotFound",
        )

    def update(self, name: str, private: bool) -> dict[str, Any]:
        """Mark a property private (hidden from non-admins) or public."""
        path = "/os-hosts/properties/" + urllib.parse.quote(name, safe="")
        return self._api.patch(path, {"private": bool(private)})[
            "resource_property"
        ]
