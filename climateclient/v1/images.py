"""Images hosts can be prepared with (``/v1/images``) and block
allocations (``/v1/blocks``)."""

from __future__ import annotations

import urllib.parse
from typing import Any


def _quote(value):
    return urllib.parse.quote(str(value), safe="")


class ImageManager:
    """Images: anyone may read them, the operator registers them.

    An image is a dict with ``id``, ``name``, ``reference``,
    ``checksum``, ``default_load_time`` (seconds) and, read one at a time,
    ``estimated_load_time`` and ``estimates`` (per provisioning driver).
    """

    def __init__(self, api):
        self._api = api

    def list(self) -> list[dict[str, Any]]:
        return self._api.get("/images")["images"]

    def get(self, name_or_id: str) -> dict[str, Any]:
        """An image by id or name, with its learned load time."""
        return self._api.get(f"/images/{_quote(name_or_id)}")["image"]

    def create(
        self,
        name: str,
        reference: str,
        default_load_time: int | None = None,
        checksum: str | None = None,
    ) -> dict[str, Any]:
        body = {"name": name, "reference": reference}
        if default_load_time is not None:
            body["default_load_time"] = default_load_time
        if checksum is not None:
            body["checksum"] = checksum
        return self._api.post("/images", json=body)["image"]

    def delete(self, image_id: str) -> None:
        self._api.delete(f"/images/{_quote(image_id)}")


class BlockManager:
    """Block allocations (an operator's, or a group manager's, job)."""

    def __init__(self, api):
        self._api = api

    def list(self) -> list[dict[str, Any]]:
        return self._api.get("/blocks")["blocks"]

    def get(self, block_id: str) -> dict[str, Any]:
        return self._api.get(f"/blocks/{_quote(block_id)}")["block"]

    def create(self, **values: Any) -> dict[str, Any]:
        """Create a block: ``image``, ``machine_count``, ``project``,
        ``slots`` or ``weekly``, ``ignore_privileges``, ``name``."""
        body = {k: v for k, v in values.items() if v is not None}
        return self._api.post("/blocks", json=body)["block"]

    def delete(self, block_id: str) -> None:
        self._api.delete(f"/blocks/{_quote(block_id)}")
