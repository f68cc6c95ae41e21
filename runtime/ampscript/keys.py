"""The workspace key store: Marketing Cloud's Key Management, for local runs.

EncryptSymmetric(), DecryptSymmetric() and GetJWTByKeyName() can name keys
(by their external key) instead of passing secrets in the script.  Marketing
Cloud keeps those keys in Setup > Key Management; a workspace keeps them in
``keys.json`` at its root, a JSON object of external key -> key::

    {
      "OrderPassword": {"type": "symmetric", "value": "fresh7"},
      "OrderSalt":     {"type": "salt", "value": "e0cf1267f564b362"},
      "OrderIV":       {"type": "iv", "value": "4963b7334a46352623252955df21d7f3"},
      "JwtSecret":     {"type": "symmetric", "value": "a-long-signing-secret"},
      "JwtRsaKey":     {"type": "asymmetric", "file": "keys/jwt-private.pem"}
    }

Key types, as Key Management has them:

* ``symmetric``: a password / passphrase / signing secret, used as text;
* ``salt``: a salt, written in hexadecimal (two digits per byte, 8 bytes or more);
* ``iv``: an initialization vector, written in hexadecimal;
* ``asymmetric``: an RSA private key in PEM form, for GetJWTByKeyName()'s
  RS256/RS384/RS512.

Each key has either ``value`` (the key itself) or ``file`` (a path, relative
to the workspace, of a file holding it, handy for PEM keys).  External keys
are matched case-insensitively, like other Marketing Cloud names.  Nothing
here is ever written back; the file is read when a script asks for a key.

``keys.json`` and the files it names are read through the workspace
(`ampscript.workspace`), so a key file must be inside the workspace (no
absolute paths, no ``..`` out of it, no link pointing outside); a refused or
missing key file is an error naming ``keys.json``, the key and the file.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ScriptError
from .workspace import Workspace

KEY_STORE_FILE = "keys.json"
KEY_TYPES = ("symmetric", "salt", "iv", "asymmetric")


@dataclass(frozen=True)
class StoredKey:
    name: str
    type: str
    value: str


class KeyStore:
    """The keys of one workspace, looked up by external key."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def get(self, name: str, key_type: str, function: str) -> StoredKey:
        """The key called `name`, which must be of `key_type`, or a ScriptError naming `function`."""
        entries = self._entries()
        spelling = next((stored for stored in entries if stored.lower() == name.lower()), None)
        if spelling is None:
            raise ScriptError(
                f"{function}(): no key with the external key {name!r} in Key Management",
                hint=f"add it to {KEY_STORE_FILE} in the workspace",
            )
        key = self._parse(spelling, entries[spelling])
        if key.type != key_type:
            raise ScriptError(f"{function}(): the key {name!r} is of type {key.type}, not {key_type}")
        return key

    def _entries(self) -> dict:
        if not self.workspace.is_file(KEY_STORE_FILE):
            return {}
        data = self.workspace.read_json(KEY_STORE_FILE)
        if not isinstance(data, dict):
            raise ScriptError(
                f"{self.workspace.path(KEY_STORE_FILE)}: expected a JSON object of external key -> key"
            )
        return data

    def _parse(self, name: str, entry: object) -> StoredKey:
        where = f"{self.workspace.path(KEY_STORE_FILE)}: key {name!r}"
        if not isinstance(entry, dict) or entry.get("type") not in KEY_TYPES:
            raise ScriptError(
                f"{where}: expected {{\"type\": one of {', '.join(KEY_TYPES)}, \"value\": ...}}"
            )
        if ("value" in entry) == ("file" in entry):
            raise ScriptError(f'{where}: give exactly one of "value" and "file"')
        if "file" in entry:
            value = self._read_file(entry["file"], where)
        else:
            value = entry["value"]
        if not isinstance(value, str):
            raise ScriptError(f"{where}: the value must be a string")
        return StoredKey(name, entry["type"], value)

    def _read_file(self, file: object, where: str) -> str:
        """The text of a key's file, named relative to the workspace."""
        if not isinstance(file, str) or not file.strip():
            raise ScriptError(f'{where}: "file" must be the path of a file in the workspace')
        try:
            if self.workspace.is_file(file):
                return self.workspace.read_text(file, encoding="utf-8")
            problem = "is a folder, not a file" if self.workspace.is_dir(file) else "does not exist"
        except ScriptError as error:  # a refused path, an unreadable file
            raise ScriptError(f"{where}: {error.message}", hint=error.hint) from None
        raise ScriptError(
            f"{where}: the key's file {file!r} {problem}",
            hint=f'"file" names a file relative to the workspace folder ({self.workspace.root})',
        )
