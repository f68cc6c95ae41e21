"""Salesforce record IDs: the 18-character form, key prefixes, and new IDs for the org simulator.

A record ID is 15 case-sensitive characters: a three-character key prefix
naming the object (``00Q`` for Lead), then the pod and the record's number.
Its 18-character form adds three characters that encode which of the
fifteen are upper-case letters, so that the ID survives systems that ignore
case; Salesforce accepts either form wherever an ID goes.
"""

from __future__ import annotations

import hashlib
import string

# The 32 characters of an 18-character ID's suffix: one per 5-bit pattern of upper-case letters.
_SUFFIX_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase

# Key prefixes of the standard objects scripts use most (Salesforce's "Standard Field Record ID Prefix Decoder").
KEY_PREFIXES = {
    "account": "001",
    "contact": "003",
    "user": "005",
    "opportunity": "006",
    "lead": "00Q",
    "task": "00T",
    "event": "00U",
    "campaignmember": "00v",
    "case": "500",
    "campaign": "701",
    "contract": "800",
    "order": "801",
    "product2": "01t",
    "asset": "02i",
    "individual": "0PK",
}


def long_id(short_id: str) -> str:
    """The 18-character form of a 15-character ID; any other text unchanged.

    Each suffix character encodes which of five characters of the ID are
    upper-case letters A-Z (bit 0 for the first), as an index into A-Z0-5.
    """
    if len(short_id) != 15:
        return short_id
    suffix = []
    for start in range(0, 15, 5):
        chunk = short_id[start:start + 5]
        pattern = sum(1 << bit for bit, character in enumerate(chunk) if "A" <= character <= "Z")
        suffix.append(_SUFFIX_CHARACTERS[pattern])
    return short_id + "".join(suffix)


def canonical_id(value: str) -> str | None:
    """The 18-character form of a well-formed 15- or 18-character ID, else None."""
    if len(value) not in (15, 18) or not all(character in _BASE62 for character in value):
        return None
    full = long_id(value[:15])
    if len(value) == 18 and value[15:].upper() != full[15:]:
        return None
    return full


def key_prefix(sobject: str) -> str:
    """The object's key prefix: the standard one, else three characters made from its name (custom: ``a0…``)."""
    known = KEY_PREFIXES.get(sobject.lower())
    if known is not None:
        return known
    digest = hashlib.sha256(sobject.lower().encode()).digest()
    if sobject.lower().endswith("__c"):
        return "a0" + _BASE62[digest[0] % 62]
    return "0" + _BASE62[digest[0] % 62] + _BASE62[digest[1] % 62]


def new_id(sobject: str, number: int) -> str:
    """The 18-character ID of the object's `number`-th record made by the simulator (pod ``0A``)."""
    digits = []
    for _ in range(9):
        number, digit = divmod(number, 62)
        digits.append(_BASE62[digit])
    return long_id(key_prefix(sobject) + "0A0" + "".join(reversed(digits)))
