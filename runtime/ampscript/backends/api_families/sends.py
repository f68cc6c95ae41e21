"""TriggeredSend: a Create puts one message per subscriber in the simulator's outbox (`Simulator.outbox`)."""

from __future__ import annotations

import json
from typing import Any

from ...api_objects import ApiObject
from ...values import to_text
from ..api_filters import as_list
from ..api_store import identity
from ..base import CallResult
from . import ObjectFamily

SCHEMA = """
CREATE TABLE IF NOT EXISTS _ampc_outbox (
    id INTEGER PRIMARY KEY,
    definition_key TEXT,
    subscriber_key TEXT,
    email_address TEXT,
    attributes TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
"""


class SendFamily(ObjectFamily):
    def create(self, target: ApiObject, options: ApiObject | None) -> CallResult | None:
        if target.object_type.lower() != "triggeredsend":
            return None
        definition = target.get("TriggeredSendDefinition")
        if not isinstance(definition, ApiObject):
            return CallResult("Error", "TriggeredSendDefinition is required")
        found = self.simulator.stored.find(definition)
        if found is None:
            return CallResult("Error", "TriggeredSendDefinition not found")
        subscribers = [s for s in as_list(target.get("Subscribers")) if isinstance(s, ApiObject)]
        if not subscribers:
            return CallResult("Error", "At least one subscriber is required")
        key = identity(found[1])
        db = self.simulator.db
        for subscriber in subscribers:
            attributes = {
                to_text(a.get("Name")): to_text(a.get("Value"))
                for a in [*as_list(target.get("Attributes")), *as_list(subscriber.get("Attributes"))]
                if isinstance(a, ApiObject)
            }
            db.execute(
                "INSERT INTO _ampc_outbox (definition_key, subscriber_key, email_address, attributes)"
                " VALUES (?, ?, ?, ?)",
                (
                    key,
                    to_text(subscriber.get("SubscriberKey")) or to_text(subscriber.get("EmailAddress")),
                    to_text(subscriber.get("EmailAddress")) or None,
                    json.dumps(attributes),
                ),
            )
        return CallResult("OK", "Created TriggeredSend")

    def outbox(self) -> list[dict[str, Any]]:
        cursor = self.simulator.db.execute(
            "SELECT definition_key, subscriber_key, email_address, attributes FROM _ampc_outbox ORDER BY id"
        )
        return [
            {"definition": d, "subscriber_key": k, "email_address": e, "attributes": json.loads(a)}
            for d, k, e, a in cursor
        ]
