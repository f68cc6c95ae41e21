"""A workspace: the folder that stands in for a Marketing Cloud account.

Layout (every part optional)::

    subscriber.json              the subscriber: {"FirstName": "Ana", ...}
    objects/<ObjectType>.json    API objects: [{"CustomerKey": "...", ...}, ...]
    DataExtensions/<Name>.csv    data extension rows (header row = field names)
    Content/                     content blocks
    keys.json                    named keys (ampscript.keys)
    ampc.json                    settings, one section per feature (`settings()`)

Every file access goes through `Workspace.path`, which refuses paths that
would leave the workspace folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import ScriptError


class Workspace:
    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root if root is not None else ".").resolve()

    def path(self, *parts: str) -> Path:
        """A path inside the workspace; never outside it (no `..`, no absolute paths)."""
        candidate = self.root.joinpath(*parts).resolve()
        if candidate != self.root and self.root not in candidate.parents:
            raise ScriptError(f"path {'/'.join(parts)!r} is outside the workspace {str(self.root)!r}")
        return candidate

    def read_json(self, *parts: str) -> Any:
        path = self.path(*parts)
        try:
            return json.loads(path.read_text(encoding="utf-8-sig"))
        except json.JSONDecodeError as error:
            raise ScriptError(f"{path}: invalid JSON: {error}") from None

    def settings(self) -> dict[str, Any]:
        """The workspace's own settings, ``ampc.json`` at its root (none: ``{}``).

        Each feature reads its own section, e.g. ``{"http": {"allow": [...]}}``.
        """
        if not self.path("ampc.json").is_file():
            return {}
        data = self.read_json("ampc.json")
        if not isinstance(data, dict):
            raise ScriptError(f"{self.path('ampc.json')}: expected a JSON object of settings")
        return data

    def subscriber(self) -> dict[str, Any]:
        """The attributes in subscriber.json, or none."""
        if not self.path("subscriber.json").is_file():
            return {}
        data = self.read_json("subscriber.json")
        if not isinstance(data, dict):
            raise ScriptError(f"{self.path('subscriber.json')}: expected a JSON object of attribute names to values")
        return data

    def seeded_objects(self) -> dict[str, list[dict[str, Any]]]:
        """objects/<ObjectType>.json files: object type -> list of objects."""
        folder = self.path("objects")
        if not folder.is_dir():
            return {}
        seeded: dict[str, list[dict[str, Any]]] = {}
        for file in sorted(folder.glob("*.json")):
            data = self.read_json("objects", file.name)
            if isinstance(data, dict):
                data = [data]
            if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
                raise ScriptError(f"{file}: expected a JSON list of objects (property name -> value)")
            seeded[file.stem] = data
        return seeded
