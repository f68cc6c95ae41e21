"""The content store: content blocks and images from the workspace's ``Content/`` folder.

Content blocks
    Every file under ``Content/`` with the extension ``.ampscript``, ``.amp``,
    ``.html`` or ``.txt`` is a content block.  It is AMPscript (plain HTML or
    text is AMPscript without code), rendered where it is included.

    * its **name** is its path relative to ``Content/`` without the
      extension: ``Content/Content Builder/Emails/Footer.amp`` is
      ``Content Builder/Emails/Footer``.  Names match case-insensitively,
      with ``\\`` or ``/`` between folders, and Content Builder's root folder
      (``Content Builder``) or Classic Content's (``My Contents``) may be
      left out or added: ``ContentBlockByName("Content Builder\\Emails\\Footer")``
      finds ``Content/Emails/Footer.amp`` too.
    * its **customer key** and **ID** are its file name without the
      extension (``Footer``), as in Salesforce's open-source AMPscript engine
      (ampscript-core), unless ``Content/index.json`` gives others.  Keys and
      IDs match case-insensitively; a key or ID that two files share is an
      error when used, so give them their own in the index.

Images (ContentImageByKey, ContentImageByID, Image)
    Every file under ``Content/`` with an image extension (``.png``,
    ``.jpg``, ``.jpeg``, ``.gif``, ``.svg``, ``.webp``) is an image whose key
    and ID are its file name without the extension, its title and alt text
    the same, and its ``src`` its path inside the workspace
    (``Content/images/logo.png``).  The index can describe images too, with
    or without a file.

``Content/index.json`` (optional)::

    {
      "blocks": [
        {"file": "Emails/Footer.amp", "name": "Content Builder/Emails/Footer",
         "key": "footer-key", "id": 52413}
      ],
      "images": [
        {"key": "CorpLogo", "id": 1237458, "title": "Logo", "alt": "Logo",
         "src": "https://images.example.com/logo.gif"},
        {"file": "images/banner.png", "key": "Banner", "title": "Spring sale"}
      ]
    }

A block entry names its ``file`` (relative to ``Content/``) and any of
``name``, ``key`` and ``id`` it sets explicitly; the others keep their
defaults.  An image entry needs a ``src`` or a ``file``; ``key``, ``id``,
``title`` and ``alt`` default as for image files (``thid``, the image ID
Marketing Cloud puts in the ``<img>`` tag, is the ``id``).

The index is built once per workspace folder and process, and again when a
file under ``Content/`` is added, removed or renamed or index.json changes
(checked once per render, `store_for`); files are read once per path and
modification time, and compiled AMPscript is cached by its text
(`ampscript.functions.content`).

Everything here is read through the workspace (`ampscript.workspace`): the
folder walk, ``index.json`` and the files it names, and each block's text.
A file or folder under ``Content/`` that is a symbolic link leading outside
the workspace is an error naming it as soon as content is first used
(choice: the store cannot tell what it would otherwise be called); links
that stay inside work.  Hidden files and folders (``.git``) are not content.
"""

from __future__ import annotations

import os
import posixpath
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import ScriptError
from .values.case import fold
from .workspace import Workspace

CONTENT_FOLDER = "Content"
INDEX_FILE = "index.json"
BLOCK_EXTENSIONS = (".ampscript", ".amp", ".html", ".txt")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp")

# Root folders Marketing Cloud shows at the top of content paths; a name may
# include or omit them.
_ROOT_FOLDERS = ("CONTENT BUILDER", "MY CONTENTS")  # folded (ampscript.values.case.fold)


@dataclass(frozen=True)
class ContentBlock:
    name: str  # "Content Builder/Emails/Footer", as declared or derived from the path
    key: str
    id: str
    display_name: str  # the file's name inside the workspace, read and shown: "Content/Emails/Footer.amp"


@dataclass(frozen=True)
class ContentImage:
    key: str
    id: str
    title: str
    alt: str
    src: str


def normalize_name(name: str) -> str:
    """A content name as compared: ``/`` between folders, lower case, no root folder."""
    parts = [part.strip() for part in name.replace("\\", "/").split("/") if part.strip()]
    if parts and fold(parts[0]) in _ROOT_FOLDERS:
        parts = parts[1:]
    return fold("/".join(parts))


def _normalize_key(key: str) -> str:
    return fold(key.strip())


class _Lookup:
    """Normalized name -> everything that goes by it; more than one is ambiguous."""

    def __init__(self, kind: str, normalize) -> None:
        self.kind = kind
        self.normalize = normalize
        self._entries: dict[str, list[Any]] = {}

    def add(self, label: str, item: Any) -> None:
        bucket = self._entries.setdefault(self.normalize(label), [])
        if item not in bucket:
            bucket.append(item)

    def find(self, label: str, describe) -> Any | None:
        found = self._entries.get(self.normalize(label), [])
        if len(found) > 1:
            listed = ", ".join(describe(item) for item in found)
            raise ScriptError(
                f"{len(found)} {self.kind}s go by '{label}': {listed}",
                hint=f"give each its own in {CONTENT_FOLDER}/{INDEX_FILE}",
            )
        return found[0] if found else None


class ContentStore:
    """The content blocks and images of one workspace, indexed by name, key and ID."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.folder = workspace.path(CONTENT_FOLDER)
        self.origin = f"the workspace's Content/ folder ({self.folder})"
        self._blocks_by_name = _Lookup("content block", normalize_name)
        self._blocks_by_key = _Lookup("content block", _normalize_key)
        self._blocks_by_id = _Lookup("content block", _normalize_key)
        self._images_by_key = _Lookup("image", _normalize_key)
        self._images_by_id = _Lookup("image", _normalize_key)
        if workspace.is_dir(CONTENT_FOLDER):
            self._load()

    # ---- lookups ---------------------------------------------------------------------

    def block_by_name(self, name: str) -> ContentBlock | None:
        return self._blocks_by_name.find(name, _describe_block)

    def block_by_key(self, key: str) -> ContentBlock | None:
        return self._blocks_by_key.find(key, _describe_block)

    def block_by_id(self, id_: str) -> ContentBlock | None:
        return self._blocks_by_id.find(id_, _describe_block)

    def image_by_key(self, key: str) -> ContentImage | None:
        return self._images_by_key.find(key, _describe_image)

    def image_by_id(self, id_: str) -> ContentImage | None:
        return self._images_by_id.find(id_, _describe_image)

    def source(self, block: ContentBlock) -> str:
        """The block's AMPscript text (re-read only when the file changes)."""
        return read_content_file(self.workspace, block.display_name)

    def file_path(self, block: ContentBlock) -> str:
        """The block's file, as a full path: what its compiled code names (`render_content`)."""
        return str(self.workspace.path(block.display_name))

    # ---- loading ---------------------------------------------------------------------

    def _load(self) -> None:
        # Keyed by the file's name inside the workspace ("Content/Emails/Footer.amp").
        blocks: dict[str, ContentBlock] = {}
        images: dict[str, ContentImage] = {}
        found = self.workspace.files(
            CONTENT_FOLDER, BLOCK_EXTENSIONS + IMAGE_EXTENSIONS, recursive=True, hidden=False
        )
        for file in found:
            path = PurePosixPath(file)
            if path.suffix.lower() in BLOCK_EXTENSIONS:
                name = str(path.relative_to(CONTENT_FOLDER).with_suffix(""))
                blocks[file] = ContentBlock(name, path.stem, path.stem, file)
            else:
                images[file] = ContentImage(path.stem, path.stem, path.stem, path.stem, file)
        extra_images: list[ContentImage] = []
        if self.workspace.is_file(CONTENT_FOLDER, INDEX_FILE):
            self._apply_index(blocks, images, extra_images)
        for block in blocks.values():
            self._blocks_by_name.add(block.name, block)
            self._blocks_by_key.add(block.key, block)
            self._blocks_by_id.add(block.id, block)
        for image in [*images.values(), *extra_images]:
            self._images_by_key.add(image.key, image)
            self._images_by_id.add(image.id, image)

    def _apply_index(
        self,
        blocks: dict[str, ContentBlock],
        images: dict[str, ContentImage],
        extra_images: list[ContentImage],
    ) -> None:
        where = f"{CONTENT_FOLDER}/{INDEX_FILE}"
        index = self.workspace.read_json(CONTENT_FOLDER, INDEX_FILE)
        if not isinstance(index, dict) or set(index) - {"blocks", "images"}:
            raise ScriptError(f'{where}: expected a JSON object with "blocks" and/or "images" lists')
        for entry in _entries(index.get("blocks", []), f'{where}: "blocks"'):
            path = self._indexed_file(entry, where, required=True)
            if path not in blocks:
                raise ScriptError(
                    f"{where}: {entry['file']!r} is not a content file ({', '.join(BLOCK_EXTENSIONS)})"
                )
            default = blocks[path]
            blocks[path] = ContentBlock(
                _text(entry.get("name", default.name)),
                _text(entry.get("key", default.key)),
                _text(entry.get("id", default.id)),
                default.display_name,
            )
        for entry in _entries(index.get("images", []), f'{where}: "images"'):
            path = self._indexed_file(entry, where, required=False)
            if path is None and "src" not in entry:
                raise ScriptError(
                    f'{where}: an image needs a "src" (its URL) or a "file" under {CONTENT_FOLDER}/'
                )
            stem = (
                PurePosixPath(path).stem if path is not None else _text(entry.get("key", entry.get("id", "")))
            )
            key = _text(entry.get("key", stem))
            title = _text(entry.get("title", stem))
            image = ContentImage(
                key,
                _text(entry.get("id", key)),
                title,
                _text(entry.get("alt", title)),
                _text(entry["src"]) if "src" in entry else path,
            )
            if path is not None:
                images[path] = image
            else:
                extra_images.append(image)

    def _indexed_file(self, entry: dict, where: str, *, required: bool) -> str | None:
        """The name inside the workspace of the file an index entry describes ("Content/Emails/Footer.amp")."""
        if "file" not in entry:
            if required:
                raise ScriptError(
                    f'{where}: every block needs the "file" it describes (relative to {CONTENT_FOLDER}/)'
                )
            return None
        file = _text(entry["file"])
        try:
            self.workspace.path(CONTENT_FOLDER, file)  # refuses a name that leaves the workspace
        except ScriptError as error:
            raise ScriptError(f"{where}: {error.message}", hint=error.hint) from None
        # The name as the folder walk spells it: '/' between folders, no '.' or '..'.
        name = posixpath.normpath(posixpath.join(CONTENT_FOLDER, file.replace("\\", "/")))
        if not self.workspace.is_file(name):
            raise ScriptError(f"{where}: no file {name!r}")
        return name


def _entries(items: Any, where: str) -> Iterable[dict]:
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ScriptError(f"{where} must be a list of objects")
    return items


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _describe_block(block: ContentBlock) -> str:
    return block.display_name


def _describe_image(image: ContentImage) -> str:
    return image.src


# ---- caches --------------------------------------------------------------------------

# Workspace folder -> (what its index was built from, the store); the most recently used last.
_stores: OrderedDict[Path, tuple[tuple[Any, ...], ContentStore]] = OrderedDict()
_STORES_KEPT = 32
_files: dict[Path, tuple[int, int, str]] = {}  # real path -> (mtime_ns, size, text)
_lock = threading.Lock()


def store_for(workspace: Workspace) -> ContentStore:
    """The content store of a workspace folder: indexed once per process, again after a change.

    What the index is built from (`_index_inputs`: the names of the files
    under ``Content/`` and the text of its index.json) is checked once per
    render, which costs a folder listing rather than the walk, link checks
    and parsing of an index; so every context on the folder shares one
    index, and ``ampc serve``, whose contexts share one `Workspace`, sees a
    block added, removed or renamed, or index.json edited, in the next
    render.  A block's own text is re-read when it changes
    (`read_content_file`).
    """
    render = _render_data()
    if render is not None:
        seen = render.get(_RENDER_KEY)
        if seen is not None and seen[0] == workspace.root:
            return seen[1]  # checked already in this render
    store = _checked_store(workspace)
    if render is not None:
        render[_RENDER_KEY] = (workspace.root, store)
    return store


_RENDER_KEY = "content_store"  # in the render's render_data: (workspace folder, store)


def _render_data() -> dict[str, Any] | None:
    """The state of the render in progress (`Page.render_data`), or None outside renders."""
    from .rendering import current_page  # on first use: rendering imports far more than this module

    try:
        return current_page().render_data
    except ScriptError:
        return None


def _checked_store(workspace: Workspace) -> ContentStore:
    inputs = _index_inputs(workspace)
    with _lock:
        kept = _stores.get(workspace.root)
        if kept is not None and kept[0] == inputs:
            _stores.move_to_end(workspace.root)
            return kept[1]
    store = ContentStore(workspace)  # outside the lock: it reads files; an error leaves nothing kept
    with _lock:
        _stores[workspace.root] = (inputs, store)
        _stores.move_to_end(workspace.root)
        while len(_stores) > _STORES_KEPT:
            _stores.popitem(last=False)
    return store


def _index_inputs(workspace: Workspace) -> tuple[Any, ...]:
    """Everything a `ContentStore` index depends on, cheaply: file names under Content/, index.json's bytes.

    Not the blocks' modification times: their text is not part of the index.
    Any problem (a folder that cannot be listed, a name or link leading
    outside the workspace) gives inputs that match nothing kept, so the
    store is built and reports it as it always has.
    """
    try:
        folder = workspace.path(CONTENT_FOLDER)
    except ScriptError:
        return (object(),)
    if not folder.is_dir():
        return ((), None)  # as an empty folder: no content
    names: list[Any] = []
    _list_files(workspace, folder, "", names, set())
    names.sort(key=str)
    index = None
    if INDEX_FILE in names:
        try:
            index = workspace.read_bytes(CONTENT_FOLDER, INDEX_FILE)  # confined, as the store reads it
        except ScriptError:
            return (object(),)
    return (tuple(names), index)


def _list_files(workspace: Workspace, folder: Path, prefix: str, names: list[Any], walking: set[str]) -> None:
    """Non-hidden files under `folder`, as the store's walk finds them (links to folders followed, once).

    A folder outside the workspace (through a link) is not walked: an
    `object()` in `names` then matches nothing kept.
    """
    real = os.path.realpath(folder)
    if real in walking:
        return
    root = str(workspace.root)
    if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
        names.append(object())
        return
    walking.add(real)
    try:
        with os.scandir(folder) as listing:
            entries = list(listing)
    except OSError:
        names.append(object())
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            if entry.is_dir():
                _list_files(workspace, Path(entry.path), f"{prefix}{entry.name}/", names, walking)
            elif entry.is_file():
                names.append(f"{prefix}{entry.name}")
        except OSError:
            names.append(object())
    walking.discard(real)


def read_content_file(workspace: Workspace, name: str) -> str:
    """A content file's text (`name` inside the workspace), cached by real path and modification time."""
    path = workspace.path(name)
    try:
        status = path.stat()
    except FileNotFoundError:
        raise ScriptError(f"content file {name!r} has disappeared") from None
    with _lock:
        cached = _files.get(path)
    if cached is not None and cached[:2] == (status.st_mtime_ns, status.st_size):
        return cached[2]
    text = workspace.read_text(name)
    with _lock:
        _files[path] = (status.st_mtime_ns, status.st_size, text)
    return text
