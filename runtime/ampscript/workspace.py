"""A workspace: the folder that stands in for a Marketing Cloud account.

Layout (every part optional)::

    subscriber.json              the subscriber: {"FirstName": "Ana", ...}
    objects/<ObjectType>.json    API objects: [{"CustomerKey": "...", ...}, ...]
    DataExtensions/<Name>.csv    data extension rows (header row = field names)
    DataExtensions/<Name>.schema.json   their field types (ampscript.data_extensions)
    Content/                     content blocks and images, Content/index.json (ampscript.content)
    Portfolio/                   files for GetPortfolioItem()
    keys.json                    named keys, and the key files it names (ampscript.keys)
    ampc.json                    settings, one section per feature (`settings()`)

Confinement
    Every file the runtime reads from a workspace is read through this
    module, and nothing outside the workspace folder can be read through it.
    `Workspace.path` is the one resolver: it turns a name (as a script, a
    settings file or a folder walk spells it) into the file's real path, and
    refuses, with a ScriptError naming the file as it was written and
    saying that it leads outside the workspace, a name that

    * contains a NUL character;
    * is absolute (``/etc/passwd``), starts with a Windows drive
      (``C:\\x``) or is a network path (``\\\\server\\share``);
    * climbs above the workspace folder with ``..``; ``\\`` separates
      folders as ``/`` does (choice: Marketing Cloud's paths use it), so
      ``..\\..\\x`` and mixed slashes are refused the same way;
    * or whose real path, once every symbolic link on the way is followed
      (links to files or folders, chains of links), is outside the
      workspace folder.

    A link that stays inside the workspace works as its target would.  The
    readers (`read_text`, `read_bytes`, `read_json`) and the checks
    (`is_file`, `is_dir`) all call `path`, and `files`, which lists a
    folder's files for the content store, data extension seeding,
    ``objects/`` and the Portfolio, checks every file and folder it meets
    the same way: a link found while walking that leads outside is an error
    naming the link (choice: skipping it would show up later as a puzzling
    "no content block" or a missing data extension).  A folder link that
    leads back to a folder being walked is not walked again.  Only regular
    files are read (not FIFOs or devices, which could block or never end).

    Not covered, as no path check can see them: hard links and bind mounts
    that make an outside file appear inside, and a file swapped for a link
    between the check and the read (the final component is opened without
    following links, which narrows that window to the folders above it).
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import ScriptError
from .values import parse_json

_DRIVE = re.compile(r"^[A-Za-z]:")
# Open flags: no link at the last step (it was resolved already), never block on a FIFO.
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


def _shown(name: str) -> str:
    """A file name quoted for a message, control characters (NUL) made visible."""
    visible = "".join(char if char.isprintable() else repr(char)[1:-1] for char in name)
    return f"'{visible}'"


class Workspace:
    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(os.path.realpath(root if root is not None else "."))

    # ---- the resolver ------------------------------------------------------------------

    def path(self, *parts: str) -> Path:
        """The real path of a file or folder inside the workspace; a ScriptError for anything else.

        `parts` are joined with ``/`` (each may hold ``/`` or ``\\`` itself).
        The path need not exist; if it does not, only its existing part has
        links to follow.
        """
        name = "/".join(str(part) for part in parts)
        if "\0" in name:
            raise self._refused(name, "a file name cannot contain a NUL character")
        segments: list[str] = []
        depth = 0
        # The whole name and each part: ("", "etc", "passwd") is as absolute as ("Content", "/etc/passwd").
        for part in [name, *map(str, parts)]:
            unified = part.replace("\\", "/")
            if unified.startswith("//"):
                raise self._refused(name, "it is a network path")
            if unified.startswith("/"):
                raise self._refused(
                    name, "it is an absolute path; paths are relative to the workspace folder"
                )
        for part in parts:
            for segment in str(part).replace("\\", "/").split("/"):
                if segment in ("", "."):
                    continue
                if _DRIVE.match(segment):
                    raise self._refused(name, "it names a Windows drive")
                depth += -1 if segment == ".." else 1
                if depth < 0:
                    raise self._refused(name, "'..' climbs above the workspace folder")
                segments.append(segment)
        # The real path decides: '..' after a link goes where the OS would take it.
        real = Path(os.path.realpath(os.path.join(self.root, *segments)))
        if not self._contains(real):
            raise self._refused(
                name, "a symbolic link on the way points outside the workspace folder", link=True
            )
        return real

    def _contains(self, real: Path) -> bool:
        return real == self.root or self.root in real.parents

    def _refused(self, name: str, reason: str, *, link: bool = False) -> ScriptError:
        remedy = "copy the file into it rather than linking to it" if link else "name files relative to it"
        return ScriptError(
            f"{_shown(name)} leads outside the workspace: {reason}",
            hint=f"only files inside the workspace folder ({self.root}) can be read; {remedy}",
        )

    # ---- reading -------------------------------------------------------------------------

    def read_bytes(self, *parts: str) -> bytes:
        """The bytes of a regular file inside the workspace (see `path`)."""
        name = "/".join(str(part) for part in parts)
        real = self.path(*parts)
        try:
            descriptor = os.open(real, _OPEN_FLAGS)
        except FileNotFoundError:
            raise ScriptError(f"no file {_shown(name)} in the workspace") from None
        except IsADirectoryError:
            raise ScriptError(f"{_shown(name)} is a folder, not a file") from None
        except OSError as error:
            raise ScriptError(f"cannot read {_shown(name)}: {error.strerror or error}") from None
        try:
            mode = os.fstat(descriptor).st_mode
            if stat.S_ISDIR(mode):
                raise ScriptError(f"{_shown(name)} is a folder, not a file")
            if not stat.S_ISREG(mode):
                raise ScriptError(f"{_shown(name)} is not a regular file, so it is not read")
            handle = os.fdopen(descriptor, "rb")
        except BaseException:
            os.close(descriptor)
            raise
        with handle:
            return handle.read()

    def read_text(self, *parts: str, encoding: str = "utf-8-sig", newline: str | None = None) -> str:
        """A text file's contents; ``newline=None`` turns ``\\r\\n`` and ``\\r`` into ``\\n``, ``""`` keeps them."""
        name = "/".join(str(part) for part in parts)
        data = self.read_bytes(*parts)
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as error:
            raise ScriptError(
                f"{name}: not UTF-8 text (byte {error.start}); save the file as UTF-8"
            ) from None
        if newline is None:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        return text

    def read_json(self, *parts: str) -> Any:
        text = self.read_text(*parts)
        try:
            return parse_json(text)
        except json.JSONDecodeError as error:
            raise ScriptError(f"{self.path(*parts)}: invalid JSON: {error}") from None

    def is_file(self, *parts: str) -> bool:
        """Whether the name is a regular file (after links, which must stay inside)."""
        return self.path(*parts).is_file()

    def is_dir(self, *parts: str) -> bool:
        return self.path(*parts).is_dir()

    def files(
        self,
        folder: str,
        suffixes: Iterable[str] | None = None,
        *,
        recursive: bool = False,
        hidden: bool = True,
    ) -> list[str]:
        """The regular files in `folder`, as names for `path` ("Content/Emails/Footer.amp"), sorted.

        Only names ending in one of `suffixes` (any case) are listed, all if
        None; `recursive` walks subfolders (following links to folders that
        stay inside); ``hidden=False`` leaves out names starting with ``.``.
        Every file listed and every folder walked is checked as `path`
        checks names: one that leads outside the workspace is a ScriptError.
        """
        start = self.path(folder)
        if not start.is_dir():
            return []
        wanted = None if suffixes is None else tuple(suffix.lower() for suffix in suffixes)
        found: list[str] = []
        shown = "/".join(segment for segment in folder.replace("\\", "/").split("/") if segment)
        self._walk(start, shown, wanted, recursive, hidden, found, frozenset([start]))
        return found

    def _walk(
        self,
        folder: Path,
        shown: str,
        wanted: tuple[str, ...] | None,
        recursive: bool,
        hidden: bool,
        found: list[str],
        walking: frozenset[Path],
    ) -> None:
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as error:
            raise ScriptError(f"cannot list the folder {_shown(shown)}: {error.strerror or error}") from None
        for entry in entries:
            name = f"{shown}/{entry.name}"
            if not hidden and entry.name.startswith("."):
                continue
            try:
                is_folder = entry.is_dir()  # follows links
            except OSError:
                is_folder = False
            if is_folder:
                if not recursive:
                    continue
                real = self._checked(entry.path, name)
                if real in walking:
                    continue  # a link back to a folder being walked: a cycle
                self._walk(real, name, wanted, recursive, hidden, found, walking | {real})
            elif wanted is None or entry.name.lower().endswith(wanted):
                real = self._checked(entry.path, name)
                if real.is_file():
                    found.append(name)

    def _checked(self, path: str, name: str) -> Path:
        real = Path(os.path.realpath(path))
        if not self._contains(real):
            raise self._refused(
                name,
                "it is a symbolic link, or in a linked folder, pointing outside the workspace folder",
                link=True,
            )
        return real

    # ---- the workspace's own files ---------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        """The workspace's own settings, ``ampc.json`` at its root (none: ``{}``).

        Each feature reads its own section, e.g. ``{"http": {"allow": [...]}}``.
        """
        if not self.is_file("ampc.json"):
            return {}
        data = self.read_json("ampc.json")
        if not isinstance(data, dict):
            raise ScriptError(f"{self.path('ampc.json')}: expected a JSON object of settings")
        return data

    def subscriber(self) -> dict[str, Any]:
        """The attributes in subscriber.json, or none."""
        if not self.is_file("subscriber.json"):
            return {}
        data = self.read_json("subscriber.json")
        if not isinstance(data, dict):
            raise ScriptError(
                f"{self.path('subscriber.json')}: expected a JSON object of attribute names to values"
            )
        return data

    def inbound_sms(self) -> dict[str, Any] | None:
        """The inbound SMS in sms.json (``{"text": ..., "short_code": ..., "mobile_number": ...}``), or None."""
        if not self.is_file("sms.json"):
            return None
        data = self.read_json("sms.json")
        if not isinstance(data, dict):
            raise ScriptError(f'{self.path("sms.json")}: expected a JSON object such as {{"text": "JOIN gold"}}')
        return data

    def seeded_objects(self) -> dict[str, list[dict[str, Any]]]:
        """objects/<ObjectType>.json files: object type -> list of objects."""
        seeded: dict[str, list[dict[str, Any]]] = {}
        for name in self.files("objects", (".json",)):
            data = self.read_json(name)
            if isinstance(data, dict):
                data = [data]
            if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
                raise ScriptError(
                    f"{self.path(name)}: expected a JSON list of objects (property name -> value)"
                )
            seeded[name.rsplit("/", 1)[-1][: -len(".json")]] = data
        return seeded
