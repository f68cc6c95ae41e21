"""Subscribers: the ListSubscriber view of their list memberships, and the LogUnsubEvent execute call."""

from __future__ import annotations

from typing import Any

from ... import operators
from ...api_objects import ApiObject
from ...values import Row, to_text
from ..base import CallResult
from . import Execute, ObjectFamily

SCHEMA = """
CREATE TABLE IF NOT EXISTS _ampc_unsub_event (
    id INTEGER PRIMARY KEY,
    subscriber_key TEXT,
    email_address TEXT,
    job_id TEXT,
    list_id TEXT,
    batch_id TEXT,
    reason TEXT,
    logged_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
"""


class SubscriberFamily(ObjectFamily):
    def retrievable(self, object_type: str) -> list[Row] | None:
        if object_type.lower() != "listsubscriber":
            return None
        memberships = []
        for _, subscriber in self.simulator.stored.objects("Subscriber"):
            for membership in subscriber.get("Lists") or []:
                if isinstance(membership, dict):
                    membership = Row(membership)
                    memberships.append(
                        Row(
                            {
                                "ListID": membership.get("ID"),
                                "SubscriberKey": subscriber.get("SubscriberKey"),
                                "Status": membership.get("Status") or "Active",
                            }
                        )
                    )
        return self.simulator.stored_rows(object_type) + memberships

    def executes(self) -> dict[str, Execute]:
        return {"logunsubevent": self._log_unsub_event}

    def _log_unsub_event(self, request: ApiObject, parameters: dict[str, Any]) -> CallResult:
        key = to_text(parameters.get("subscriberkey"))
        email = to_text(parameters.get("emailaddress"))
        subscriber_id = to_text(parameters.get("subscriberid"))
        if not (key or email or subscriber_id):
            return CallResult("Error", "SubscriberKey, SubscriberID or EmailAddress is required")
        store = self.simulator.stored
        self.simulator.db.execute(
            "INSERT INTO _ampc_unsub_event (subscriber_key, email_address, job_id, list_id, batch_id, reason)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                key or None,
                email or None,
                to_text(parameters.get("jobid")) or None,
                to_text(parameters.get("listid")) or None,
                to_text(parameters.get("batchid")) or None,
                to_text(parameters.get("reason")) or None,
            ),
        )
        for row_id, subscriber in store.objects("Subscriber"):
            same_key = key and "SubscriberKey" in subscriber and operators.eq(subscriber["SubscriberKey"], key)
            same_email = (
                not key and email and "EmailAddress" in subscriber and operators.eq(subscriber["EmailAddress"], email)
            )
            if same_key or same_email:
                updated = dict(subscriber)
                updated[subscriber.field_name("Status") or "Status"] = "Unsubscribed"
                store.replace(row_id, updated)
        return CallResult("OK", "Event posted")

    def unsub_events(self) -> list[dict[str, Any]]:
        cursor = self.simulator.db.execute(
            "SELECT subscriber_key, email_address, job_id, list_id, batch_id, reason FROM _ampc_unsub_event ORDER BY id"
        )
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor]
