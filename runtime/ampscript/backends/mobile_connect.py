"""The simulated MobileConnect: SMS conversations, next keywords and contacts.

Conversations (CreateSmsConversation, SetSmsConversationNextKeyword,
EndSmsConversation) are kept per pair of numbers: the account's short or
long code and the contact's phone.  At most one is active per pair;
creating one again replaces its next keyword (choice).  With ``--state``
they survive from one render to the next, so a reply script can be run
message after message.

Contacts (UpsertContact) are keyed by phone number, their attributes named
as in MobileConnect's attribute group (``_FirstName``, ``_ZipCode``, custom
names), case-insensitively.  ``MobileConnect/contacts.csv`` (or ``.json``, a
list of objects) seeds them: a ``MobileNumber`` column holds the phone
number, every other column an attribute.  Phone numbers are compared by
their digits only (``+55 11 99999-8888`` is ``5511999998888``).
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from ..capabilities import MobileConnect, SmsConversation
from ..errors import ScriptError
from ..values import Row, to_text
from ..values.case import fold
from ..workspace import Workspace
from .families import Transaction

FOLDER = "MobileConnect"
CONTACTS = ("contacts.csv", "contacts.json")
KEY_COLUMN = "MobileNumber"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS _ampc_sms_conversation (
    origination_number TEXT NOT NULL,
    destination_number TEXT NOT NULL,
    next_keyword TEXT,
    active INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (origination_number, destination_number)
);
CREATE TABLE IF NOT EXISTS _ampc_mobile_contact (
    phone_number TEXT PRIMARY KEY,
    attributes TEXT NOT NULL
);
"""


def phone_key(number: str) -> str:
    """A phone number as compared: its digits, or the text itself when it has none (a short code may be a name)."""
    digits = re.sub(r"\D", "", number)
    return digits or number.strip()


class MobileConnectStore:
    """`MobileConnect` in the simulator's database (module docstring)."""

    PROVIDES: ClassVar[type] = MobileConnect

    def __init__(self, db: sqlite3.Connection, transaction: Transaction) -> None:
        self.db = db
        self._transaction = transaction

    def create_tables(self) -> None:
        self.db.executescript(_SCHEMA)

    @staticmethod
    def seed_files(workspace: Workspace) -> Iterator[str]:
        for name in CONTACTS:
            if workspace.is_file(FOLDER, name):
                yield f"{FOLDER}/{name}"

    def seed(self, workspace: Workspace) -> None:
        for name in self.seed_files(workspace):
            where = str(workspace.root / name)
            if name.endswith(".csv"):
                reader = csv.DictReader(io.StringIO(workspace.read_text(name, newline=""), newline=""))
                records: list[dict[str, Any]] = list(reader)
            else:
                records = workspace.read_json(name)
                if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
                    raise ScriptError(f"{where}: expected a JSON list of contacts (attribute name -> value)")
            for number, record in enumerate(records, start=1):
                phone = next((to_text(v) for k, v in record.items() if fold(str(k)) == fold(KEY_COLUMN)), "")
                if not phone.strip():
                    raise ScriptError(f"{where} (contact {number}): every contact needs a {KEY_COLUMN}")
                attributes = [(str(k), v) for k, v in record.items() if fold(str(k)) != fold(KEY_COLUMN)]
                self._upsert(phone, attributes)

    # ---- conversations ---------------------------------------------------------------------

    def create_conversation(self, origination_number: str, destination_number: str, next_keyword: str) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO _ampc_sms_conversation VALUES (?, ?, ?, 1)",
                (phone_key(origination_number), phone_key(destination_number), next_keyword.strip().upper() or None),
            )

    def end_conversation(self, origination_number: str, destination_number: str) -> None:
        """End the pair's conversation; with none active there is nothing to end, and no error (choice)."""
        with self._transaction() as db:
            db.execute(
                "UPDATE _ampc_sms_conversation SET active = 0 WHERE origination_number = ? AND destination_number = ?",
                (phone_key(origination_number), phone_key(destination_number)),
            )

    def set_next_keyword(self, origination_number: str, destination_number: str, keyword: str) -> None:
        """Route the contact's next message to `keyword`: in the conversation, or one begun for it (choice)."""
        self.create_conversation(origination_number, destination_number, keyword)

    def conversation(self, origination_number: str, destination_number: str) -> SmsConversation | None:
        found = self.db.execute(
            "SELECT next_keyword FROM _ampc_sms_conversation "
            "WHERE origination_number = ? AND destination_number = ? AND active = 1",
            (phone_key(origination_number), phone_key(destination_number)),
        ).fetchone()
        return None if found is None else SmsConversation(origination_number, destination_number, found[0])

    # ---- contacts ------------------------------------------------------------------------------

    def upsert_contact(self, phone_number: str, attributes: Sequence[tuple[str, Any]]) -> None:
        with self._transaction():
            self._upsert(phone_number, attributes)

    def _upsert(self, phone_number: str, attributes: Sequence[tuple[str, Any]]) -> None:
        key = phone_key(phone_number)
        found = self.db.execute("SELECT attributes FROM _ampc_mobile_contact WHERE phone_number = ?", (key,)).fetchone()
        stored: dict[str, Any] = json.loads(found[0]) if found else {KEY_COLUMN: phone_number.strip()}
        names = {fold(name): name for name in stored}
        for name, value in attributes:
            stored[names.get(fold(name), name)] = None if value is None else to_text(value)
        self.db.execute(
            "INSERT OR REPLACE INTO _ampc_mobile_contact VALUES (?, ?)", (key, json.dumps(stored))
        )

    def contact(self, phone_number: str) -> Row | None:
        found = self.db.execute(
            "SELECT attributes FROM _ampc_mobile_contact WHERE phone_number = ?", (phone_key(phone_number),)
        ).fetchone()
        return None if found is None else Row(json.loads(found[0]).items())
