"""Automation: QueryDefinition's Perform Start runs the query activity; Group refreshes; the activity log.

As in Marketing Cloud, starting a query succeeds as soon as the definition
is found; whether the query itself worked shows in the activity log
(`Simulator.activity`), as Automation Studio shows it.
"""

from __future__ import annotations

from typing import Any

from ...api_objects import ApiObject
from ...errors import ScriptError
from ...values import to_text
from ..api_store import identity
from ..base import CallResult
from . import Execute, ObjectFamily, Perform

SCHEMA = """
CREATE TABLE IF NOT EXISTS _ampc_activity (
    id INTEGER PRIMARY KEY,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_key TEXT,
    status TEXT NOT NULL DEFAULT 'Complete',
    message TEXT,
    happened_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
"""


class AutomationFamily(ObjectFamily):
    def performs(self) -> dict[tuple[str, str], Perform]:
        return {("querydefinition", "start"): self._start_query, ("group", "refresh"): self._refresh_group}

    def executes(self) -> dict[str, Execute]:
        return {"refreshgroup": self._refresh_group_by_id, "refresh": self._refresh}

    def _start_query(self, target: ApiObject, action: str) -> CallResult:
        found = self.simulator.stored.find(target)
        if found is None:
            return CallResult("Error", "QueryDefinition not found")
        _, stored = found
        status, message = "Complete", None
        from ...rendering import current_budget
        from .. import queries  # on first use: sqlglot and the T-SQL rules cost some 50 ms to import

        budget = current_budget()
        try:
            written = queries.run(
                self.simulator.data_extensions,
                to_text(stored.get("QueryText")),
                queries.target_name(stored),
                to_text(stored.get("TargetUpdateType")),
                max_length=self.simulator.limits.string_characters,
                deadline=budget.deadline,
            )
            message = f"{written} rows written"
        except queries.TimedOut:
            raise budget.exceeded("render_seconds", "the render took too long: a query activity was still running") from None
        except ScriptError as error:  # refused, or failed: the activity's error; nothing was written
            status, message = "Error", error.message
        self.log(action, "QueryDefinition", identity(stored), status, message)
        return CallResult("OK", "QueryDefinition perform called successfully")

    def _refresh_group(self, group: ApiObject, action: str = "Refresh") -> CallResult:
        found = self.simulator.stored.find(group)
        if found is None:
            return CallResult("Error", "Group not found")
        self.log("Refresh", "Group", identity(found[1]))
        return CallResult("OK", "Group refresh started")

    def _refresh_group_by_id(self, request: ApiObject, parameters: dict[str, Any]) -> CallResult:
        """The reference's way: an ExecuteRequest named RefreshGroup with the group's ID."""
        group = ApiObject("Group")
        group.set("ID", parameters.get("id"))
        return self._refresh_group(group)

    def _refresh(self, request: ApiObject, parameters: dict[str, Any]) -> CallResult:
        target = request.get("Object")
        if not isinstance(target, ApiObject) or target.object_type.lower() != "group":
            return CallResult("Error", "Refresh needs a Group object in its Object property")
        return self._refresh_group(target)

    def log(
        self, action: str, object_type: str, key: str | None, status: str = "Complete", message: str | None = None
    ) -> None:
        self.simulator.db.execute(
            "INSERT INTO _ampc_activity (action, object_type, object_key, status, message) VALUES (?, ?, ?, ?, ?)",
            (action, object_type, key, status, message),
        )

    def activity(self) -> list[tuple[str, str, str | None, str, str | None]]:
        return list(
            self.simulator.db.execute(
                "SELECT action, object_type, object_key, status, message FROM _ampc_activity ORDER BY id"
            )
        )
