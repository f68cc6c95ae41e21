"""The seeded simulator database, kept: one copy per process, and one on disk between runs.

A `Context` without a state file starts from a database seeded from the
workspace (``objects/``, ``subscriber.json``, ``DataExtensions/``), and
nothing it writes outlives it.  So every such context on an unchanged
workspace starts from the same database: it is seeded once and then copied
(seeding 100,000 data extension rows takes seconds, a copy milliseconds).

Key
    A hash of `FORMAT`, of the runtime's own source (a change to how values
    are stored must not meet a store built by the old code), and of every
    file seeding reads: its name and its bytes.  Content, not modification
    times: a file touched but unchanged still matches, and one rewritten
    within the same clock tick does not.

In the process
    The seeded database, serialized (``Connection.serialize``), per
    workspace folder: the latest key of each of the last `MEMORY_ENTRIES`
    folders.  A new simulator deserializes its own copy, so what one
    context writes never reaches another, nor the kept copy.  (Serialized
    rather than kept as a connection to copy with the backup API: bytes
    are immutable, so threads (``ampc serve``) share them without a lock
    held while copying, and they are the file format too.)

On disk
    The same bytes in the cache folder (`cache_folder`), for the next
    ``ampc run`` on the same files, when the workspace has data extensions
    (objects and a subscriber alone are quicker to seed than to load).  The
    folder is ``$AMPC_CACHE_DIR`` if set, else the user cache folder
    (``$XDG_CACHE_HOME/ampc``, by default ``~/.cache/ampc``; macOS
    ``~/Library/Caches/ampc``; Windows ``%LOCALAPPDATA%\\ampc\\Cache``), and
    never one inside the workspace.  ``AMPC_CACHE_DIR=off`` turns it off.
    A file is written to a temporary name in the folder and renamed into
    place, so a reader never sees half of one and two processes seeding at
    once just both write (the last rename wins; each uses its own copy).
    Each file carries its key and a hash of its contents: a file that is
    unreadable, truncated or otherwise corrupt is ignored (and replaced by
    the next seed), never an error.  The folder keeps the `DISK_ENTRIES`
    files most recently used.

Nothing is kept when seeding fails (its error is raised as ever), when a
file changed while it was seeded, or when a Date value read relative to the clock (``10:30`` is today at 10:30; see
`ampscript.data_extensions.DataExtensionStore.seed_from_folder`).
A ``--state`` file is seeded as before, straight into the file.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sqlite3
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path

from ..errors import ScriptError
from ..workspace import Workspace

# Bump when the kept database's layout or the file format changes.
FORMAT = 2
MEMORY_ENTRIES = 8
DISK_ENTRIES = 16
DATA_EXTENSIONS = "DataExtensions"
_MAGIC = b"ampc seeded database\n"
_DISABLED = {"off", "0", "false", "no", "none"}

_memory: OrderedDict[Path, tuple[str, bytes | memoryview]] = (
    OrderedDict()
)  # workspace folder -> (key, database)
_lock = threading.Lock()


def seed(db: sqlite3.Connection, workspace: Workspace, seed_fresh: Callable[[], bool]) -> bool:
    """Fill the new in-memory database `db` with the workspace's seed; True if it is a kept copy.

    `seed_fresh()` seeds `db` from the files and says whether the result may
    be kept (see the module docstring).  A copy replaces all of `db`, so the
    caller reads its definitions again.
    """
    key, data_extensions = _key(workspace)
    if key is not None:
        image = _from_memory(workspace.root, key)
        if image is None and data_extensions:
            image = _from_disk(workspace, key)
            if image is not None:
                _to_memory(workspace.root, key, image)
        if image is not None:
            try:
                db.deserialize(image)
                return True
            except sqlite3.Error:  # not expected of an image this module wrote and checked: seed afresh
                forget()
    reproducible = seed_fresh()
    # Kept only if no file changed while it was seeded: what was read is then what the key says.
    if key is not None and reproducible and _key(workspace)[0] == key:
        image = db.serialize()
        _to_memory(workspace.root, key, image)
        if data_extensions:
            _to_disk(workspace, key, image)
    return False


def forget() -> None:
    """Drop the copies kept in this process (the next context seeds, or loads from disk)."""
    with _lock:
        _memory.clear()


# ---- the key ------------------------------------------------------------------------------


def seed_files(workspace: Workspace) -> Iterator[str]:
    """The files seeding reads, in the order it reads them (see `Simulator.from_workspace`)."""
    yield from workspace.files("objects", (".json",))
    if workspace.is_file("subscriber.json"):
        yield "subscriber.json"
    for csv_name in workspace.files(DATA_EXTENSIONS, (".csv",)):
        yield csv_name
        schema_name = f"{csv_name[: -len('.csv')]}.schema.json"
        if workspace.is_file(schema_name):
            yield schema_name
    from .families import family_types  # on first use: the families import the value core

    for family in family_types():
        yield from family.seed_files(workspace)


def _key(workspace: Workspace) -> tuple[str | None, bool]:
    """The seed's key, and whether it has data extensions; no key if a file cannot be read.

    Then seeding itself runs, and reports the problem as it always has.
    """
    # SHA-256: the CPU computes it (SHA extensions), several times faster than BLAKE2 in Python's builds.
    digest = hashlib.sha256(_code_identity())
    data_extensions = False
    try:
        for name in seed_files(workspace):
            content = workspace.read_bytes(name)
            data_extensions |= name.startswith(f"{DATA_EXTENSIONS}/")
            # Name and length first, so no two file lists hash alike.
            digest.update(f"\0{name}\0{len(content)}\0".encode("utf-8", "surrogatepass"))
            digest.update(content)
    except ScriptError:
        return None, False
    return digest.hexdigest(), data_extensions


@functools.cache
def _code_identity() -> bytes:
    """`FORMAT` and a hash of the runtime package's source: what decides what seeding stores."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256(f"{FORMAT}\0{sqlite3.sqlite_version}".encode())
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            pass  # a file gone since the listing: the key still differs from the complete package's
    return digest.digest()


# ---- in the process ---------------------------------------------------------------------


def _from_memory(root: Path, key: str) -> bytes | memoryview | None:
    with _lock:
        kept = _memory.get(root)
        if kept is None or kept[0] != key:
            return None
        _memory.move_to_end(root)
        return kept[1]


def _to_memory(root: Path, key: str, image: bytes | memoryview) -> None:
    with _lock:
        _memory[root] = (key, image)  # the workspace's earlier seed, if any, is dropped
        _memory.move_to_end(root)
        while len(_memory) > MEMORY_ENTRIES:
            _memory.popitem(last=False)


# ---- on disk ------------------------------------------------------------------------------


def cache_folder(workspace: Workspace | None = None) -> Path | None:
    """Where seeded databases are kept between runs; None when turned off (or inside `workspace`)."""
    setting = os.environ.get("AMPC_CACHE_DIR", "").strip()
    if setting.lower() in _DISABLED:
        return None
    folder = Path(setting).expanduser() if setting else _user_cache_folder()
    if folder is None:
        return None
    folder = Path(os.path.realpath(folder))
    if workspace is not None and (folder == workspace.root or workspace.root in folder.parents):
        return None  # a workspace holds the account's files, not ampc's
    return folder


def _user_cache_folder() -> Path | None:
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA")
        return Path(base) / "ampc" / "Cache" if base else None
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "ampc"
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # the XDG spec: a relative value is to be ignored
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no home folder to be found
            return None
    return Path(base) / "ampc"


def _file(folder: Path, key: str) -> Path:
    return folder / f"seed-{key}.db"


def _from_disk(workspace: Workspace, key: str) -> memoryview | None:
    """The kept database for `key`, or None: none kept, turned off, or unreadable or corrupt (ignored)."""
    folder = cache_folder(workspace)
    if folder is None:
        return None
    path = _file(folder, key)
    try:
        with open(path, "rb") as handle:
            content = handle.read()
    except OSError:
        return None
    image = _unpacked(content, key)
    if image is not None:
        try:
            os.utime(path)  # recently used: kept when the folder is pruned
        except OSError:
            pass
    return image


def _header(key: str, image: bytes) -> bytes:
    """What a cache file holds before the database: what it is, its key, the database's hash."""
    check = hashlib.sha256(image).hexdigest()
    return _MAGIC + f"{key}\n{check}\n".encode()


def _unpacked(content: bytes, key: str) -> memoryview | None:
    """The database in a cache file's `content`, if it is whole and for `key`.

    A view, not a copy: the database is tens of megabytes for 100,000 rows.
    """
    key_end = content.find(b"\n", len(_MAGIC))
    check_end = content.find(b"\n", key_end + 1) if key_end >= 0 else -1
    if not content.startswith(_MAGIC) or check_end < 0 or content[len(_MAGIC) : key_end] != key.encode():
        return None
    image = memoryview(content)[check_end + 1 :]
    if content[key_end + 1 : check_end] != hashlib.sha256(image).hexdigest().encode():
        return None
    return image


def _to_disk(workspace: Workspace, key: str, image: bytes) -> None:
    """Keep `image` for the next run, atomically; any failure only means there is no copy."""
    folder = cache_folder(workspace)
    if folder is None:
        return
    import tempfile  # only a run that seeds writes: no start-up cost for the others

    temporary = None
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".seed-", suffix=".tmp")
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(_header(key, image))
            handle.write(image)
        os.replace(temporary, _file(folder, key))
        temporary = None
        _prune(folder)
    except OSError:
        pass
    finally:
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass


def _prune(folder: Path) -> None:
    """Remove all but the `DISK_ENTRIES` most recently used files (a race with another process is harmless)."""
    kept = []
    for path in folder.glob("seed-*.db"):
        try:
            kept.append((path.stat().st_mtime_ns, path))
        except OSError:
            continue
    kept.sort(reverse=True)
    for _, path in kept[DISK_ENTRIES:]:
        try:
            path.unlink()
        except OSError:
            pass
