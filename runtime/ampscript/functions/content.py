"""Content functions: content blocks and areas, TreatAsContent, images.

Content comes from the workspace's ``Content/`` folder (`ampscript.content`
describes how files map to names, keys, IDs and images).  Included content
is AMPscript: it is compiled at run time by the compiler registered under
the ``ampscript.compilers`` entry point (the runtime never imports ampc
itself), then rendered as a nested render on the same context, so it shares
the including script's variables both ways; its output is the function's
value.  Compiled content is cached by its text, so a block included for
every row of a loop is compiled once.

An impression region argument begins that region when the content is
included, as BeginImpressionRegion() does (end it with EndImpressionRegion()).
"""

from __future__ import annotations

import functools
import hashlib
import html
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from ..capabilities import Content
from ..content import ContentBlock, ContentImage
from ..errors import AMPscriptError, ScriptError
from ..limits import Budget
from ..registry import ampscript_function
from ..rendering import calling_location, current_page
from ..values import case, params
from ..variables import Ref

__all__ = [
    "BeginAssetBlock",
    "ContentArea",
    "ContentAreaByName",
    "ContentBlockByID",
    "ContentBlockByKey",
    "ContentBlockByName",
    "ContentImageByID",
    "ContentImageByKey",
    "EndAssetBlock",
    "Image",
    "TreatAsContent",
    "TreatAsContentArea",
]

# TreatAsContentArea(): "The maximum number of virtual content blocks is 300."
MAX_VIRTUAL_CONTENT_AREAS = 300

# Compiled fragments kept in memory (least recently used dropped first):
# TreatAsContent() of per-subscriber data would otherwise grow without bound.
FRAGMENT_CACHE_SIZE = 512

TREAT_AS_CONTENT_FILE = "<TreatAsContent>"
TREAT_AS_CONTENT_AREA_FILE = "<TreatAsContentArea>"


# ---- compiling and rendering content ---------------------------------------------------


def entry_points(group: str) -> Any:
    """`importlib.metadata.entry_points`, imported on first use: importlib.metadata costs start-up."""
    from importlib.metadata import entry_points as installed

    return installed(group=group)


@functools.cache
def _compiler() -> Callable[[str, str], Any]:
    """``compile_fragment(source, filename)`` of the installed AMPscript compiler (ampc's if several)."""
    found = list(entry_points(group="ampscript.compilers"))
    if not found:
        raise ScriptError(
            "rendering content needs an AMPscript compiler, and none is installed",
            hint="install ampc (pip install ampc); it registers one under the 'ampscript.compilers' entry point",
        )
    chosen = next((entry for entry in found if entry.name == "ampc"), None)
    if chosen is None:
        chosen = min(found, key=lambda entry: entry.name)
    return chosen.load()


class _FragmentCache:
    """Compiled fragments by (file name, SHA-256 of the text); thread-safe, least recently used out first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._fragments: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, source: str, filename: str, budget: Budget, path: str | None = None) -> Any:
        key = (filename, hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest())
        with self._lock:
            fragment = self._fragments.get(key)
            if fragment is not None:
                self._fragments.move_to_end(key)
                return fragment
        budget.charge_compile()
        # Outside the lock: compiling may be slow.  `path` only when known: a compiler may not take it.
        fragment = _compiler()(source, filename, path) if path is not None else _compiler()(source, filename)
        with self._lock:
            self._fragments[key] = fragment
            while len(self._fragments) > self.size:
                self._fragments.popitem(last=False)
        return fragment

    def clear(self) -> None:
        with self._lock:
            self._fragments.clear()


_fragments = _FragmentCache(FRAGMENT_CACHE_SIZE)


def render_content(source: str, filename: str, function: str, path: str | None = None) -> str:
    """Render AMPscript inside the running render (same variables) and return its output.

    `filename` is the name errors show; `path`, the file's full path when
    the AMPscript is a workspace file, the one tracebacks, debuggers and
    coverage see.
    """
    page = current_page()
    budget = page.budget
    if page.depth >= budget.limits.include_depth:
        chain, outer = [], page
        while outer is not None:
            chain.append(outer.filename)
            outer = outer.outer
        error = budget.exceeded(
            "include_depth",
            f"{function}(): content is nested more than {budget.limits.include_depth} levels deep "
            f"({' <- '.join(chain[:4])} <- ...); "
            "a content block probably includes itself, directly or through other blocks",
        )
        raise error
    budget.charge_include()
    budget.check_time()
    if _is_plain_text(source):
        return source  # nothing to run: skip the compiler
    fragment = _fragments.get(source, filename, budget, path)
    try:
        return fragment.render(page.context)
    except AMPscriptError as error:
        if error.filename == filename and error.hint is None:
            where = calling_location()
            if where is not None:
                error.hint = f"{function}() included it at {where[0]}:{where[1]}:{where[2]}"
        raise


def contains_ampscript(source: str) -> bool:
    """Whether `render_content` would have AMPscript to run in the text (else it returns it as it is)."""
    return not _is_plain_text(source)


def _is_plain_text(source: str) -> bool:
    """Text with no AMPscript in it: every AMPscript opener starts with ``%%`` or ``<script``."""
    return "%%" not in source and "<script" not in case.lower(source)


# ---- content blocks and areas ------------------------------------------------------------

# How each function finds what it includes, in the content capability (`ampscript.capabilities.Content`).
def _block_by_key(content: Content, key: str) -> ContentBlock | None:
    return content.block_by_key(key)


def _block_by_name(content: Content, name: str) -> ContentBlock | None:
    return content.block_by_name(name)


def _block_by_id(content: Content, id_: str) -> ContentBlock | None:
    return content.block_by_id(id_)


def _image_by_key(content: Content, key: str) -> ContentImage | None:
    return content.image_by_key(key)


def _image_by_id(content: Content, id_: str) -> ContentImage | None:
    return content.image_by_id(id_)



def _set(cell: Ref | None, value: Any) -> None:
    if cell is not None:
        cell.value = value


def _include(
    function: str,
    what: str,
    find: Callable[[Content, str], ContentBlock | None],
    identifier: str,
    impression_region: str,
    error_if_missing: bool | None,
    default_content: str,
    status_code: Ref | None,
) -> str:
    """The shared body of the ContentBlockBy... and ContentArea... functions.

    `error_if_missing` null or empty (or left out) means true.
    """
    label = identifier.strip()
    if not label:
        raise ScriptError(f"{function}() needs the {what} of the content to include")
    strict = error_if_missing is not False
    store = current_page().context.capability(Content, function)
    block = find(store, label)
    if block is None:
        _set(status_code, -1)
        if strict:
            raise ScriptError(
                f"{function}(): no content block has the {what} '{label}'",
                hint=f"content comes from {store.origin}; names, keys and IDs are described in ampscript/content.py",
            )
        return default_content
    _begin_impression_region(impression_region)
    output = render_content(store.source(block), block.display_name, function, store.file_path(block))
    _set(status_code, 0)
    return output


def _begin_impression_region(name: str) -> None:
    """The impression region argument: "begin an impression region when you insert the content block"."""
    if name.strip():
        from .content_data import BeginImpressionRegion  # another category: imported when needed

        BeginImpressionRegion(name)


@ampscript_function("Content", output_grows=True)
def ContentBlockByKey(
    content_block_key: params.Text,
    impression_region_name: params.Text = "",
    bool_error_on_missing_content_block: params.BooleanOrEmpty = None,
    error_message: params.Text = "",
    status_code: Ref | None = None,
) -> str:
    """The rendered content of the Content Builder block with this customer key."""
    return _include(
        "ContentBlockByKey",
        "key",
        _block_by_key,
        content_block_key,
        impression_region_name,
        bool_error_on_missing_content_block,
        error_message,
        status_code,
    )


@ampscript_function("Content", output_grows=True)
def ContentBlockByName(
    content_block_name: params.Text,
    impression_region_name: params.Text = "",
    bool_error_on_missing_content_block: params.BooleanOrEmpty = None,
    error_message: params.Text = "",
    status_code: Ref | None = None,
) -> str:
    """The rendered content of the block at this path (``Content Builder\\Folder\\Name``)."""
    return _include(
        "ContentBlockByName",
        "name",
        _block_by_name,
        content_block_name,
        impression_region_name,
        bool_error_on_missing_content_block,
        error_message,
        status_code,
    )


@ampscript_function("Content", output_grows=True)
def ContentBlockByID(
    content_block_id: params.Text,
    impression_region_name: params.Text = "",
    bool_error_on_missing_content_block: params.BooleanOrEmpty = None,
    error_message: params.Text = "",
    status_code: Ref | None = None,
) -> str:
    """The rendered content of the Content Builder block with this ID."""
    return _include(
        "ContentBlockByID",
        "ID",
        _block_by_id,
        content_block_id,
        impression_region_name,
        bool_error_on_missing_content_block,
        error_message,
        status_code,
    )


@ampscript_function("Content", output_grows=True)
def ContentArea(
    content_area_id: params.Text,
    impression_region_name: params.Text = "",
    bool_error_on_missing_content_area: params.BooleanOrEmpty = None,
    error_message: params.Text = "",
    status_code: Ref | None = None,
) -> str:
    """A classic content area by ID, read from the same Content/ folder as content blocks."""
    return _include(
        "ContentArea",
        "ID",
        _block_by_id,
        content_area_id,
        impression_region_name,
        bool_error_on_missing_content_area,
        error_message,
        status_code,
    )


@ampscript_function("Content", output_grows=True)
def ContentAreaByName(
    content_area_name: params.Text,
    impression_region_name: params.Text = "",
    bool_error_on_missing_content_area: params.BooleanOrEmpty = None,
    error_message: params.Text = "",
    status_code: Ref | None = None,
) -> str:
    """A classic content area by path (``My Contents\\Folder\\Name``), from the Content/ folder."""
    return _include(
        "ContentAreaByName",
        "name",
        _block_by_name,
        content_area_name,
        impression_region_name,
        bool_error_on_missing_content_area,
        error_message,
        status_code,
    )


# ---- content in strings ----------------------------------------------------------------------


@ampscript_function("Content", output_grows=True)
def TreatAsContent(string_to_return: params.Text) -> str:
    """Render a string as AMPscript content (personalization strings, code) and return the output."""
    source = string_to_return
    if not source:
        return ""
    return render_content(source, TREAT_AS_CONTENT_FILE, "TreatAsContent")


@ampscript_function("Content", output_grows=True)
def TreatAsContentArea(content_key: params.Text, content_value: params.Text, impression_region: params.Text = "") -> str:
    """Render a string as content stored under a key for the rest of the render.

    The content is stored under the key (case-insensitive) the first time it
    is used; later calls with the same key render the stored content, as a
    virtual content area is kept for the whole send.  Keys are compared the
    way AMPscript names are (`values.case.fold`).
    """
    key = content_key.strip()
    if not key:
        raise ScriptError("TreatAsContentArea() needs a key for the content")
    areas: dict[str, str] = current_page().render_data.setdefault("virtual_content_areas", {})
    stored = areas.get(case.fold(key))
    if stored is None:
        if len(areas) >= MAX_VIRTUAL_CONTENT_AREAS:
            raise ScriptError(
                f"TreatAsContentArea(): at most {MAX_VIRTUAL_CONTENT_AREAS} virtual content areas "
                f"can be stored; '{key}' would be one more"
            )
        stored = areas[case.fold(key)] = content_value
    _begin_impression_region(impression_region)
    if not stored:
        return ""
    return render_content(stored, TREAT_AS_CONTENT_AREA_FILE, "TreatAsContentArea")


# ---- images --------------------------------------------------------------------------------------
#
# The reference lists the default image of ContentImageByKey() and
# ContentImageByID() as required but its usage text calls it optional (and
# Image()'s is optional): all three accept one or two arguments.


def _img_tag(image: ContentImage) -> str:
    """The tag Marketing Cloud writes for an image: title, alt, src, border 0 and the image ID as thid."""

    def attribute(value: str) -> str:
        return html.escape(value, quote=True)

    return (
        f'<img title="{attribute(image.title)}" alt="{attribute(image.alt)}" src="{attribute(image.src)}" '
        f'border="0" thid="{attribute(image.id)}">'
    )


def _image(
    function: str,
    what: str,
    find: Callable[[Content, str], ContentImage | None],
    wanted: str,
    fallback: str,
) -> str:
    label = wanted.strip()
    if not label:
        raise ScriptError(f"{function}() needs the {what} of an image")
    store = current_page().context.capability(Content, function)
    image = find(store, label)
    fallback_label = fallback.strip()
    if image is None and fallback_label:
        image = find(store, fallback_label)
    if image is None:
        also = f", nor the default '{fallback_label}'" if fallback_label else ""
        raise ScriptError(
            f"{function}(): no image has the {what} '{label}'{also}",
            hint="images come from Content/index.json or image files under Content/ (see ampscript/content.py)",
        )
    return _img_tag(image)


@ampscript_function("Content")
def ContentImageByKey(image_external_key: params.Text, default_image_external_key: params.Text = "") -> str:
    """An ``<img>`` tag for the Content Builder image with this key (or the default one)."""
    return _image(
        "ContentImageByKey", "key", _image_by_key, image_external_key, default_image_external_key
    )


@ampscript_function("Content")
def ContentImageByID(image_external_id: params.Text, default_image_external_id: params.Text = "") -> str:
    """An ``<img>`` tag for the Content Builder image with this ID (or the default one)."""
    return _image(
        "ContentImageByID", "ID", _image_by_id, image_external_id, default_image_external_id
    )


@ampscript_function("Content")
def Image(image_external_key: params.Text, default_image_external_key: params.Text = "") -> str:
    """An ``<img>`` tag for the Portfolio image with this external key (or the default one)."""
    return _image("Image", "key", _image_by_key, image_external_key, default_image_external_key)


@ampscript_function("Content")
def BeginAssetBlock(name: params.Text = "", *settings: params.Value) -> str:
    """Content Builder's marker for where an asset block starts: it prints nothing.

    Content Builder writes ``%%=BeginAssetBlock("name")=%%`` ...
    ``%%=EndAssetBlock()=%%`` around the blocks of a template-based email;
    Marketing Cloud renders the content between them and nothing for the
    markers (issue 10).  The arguments are accepted as Content Builder
    writes them and have no effect on the output.
    """
    return ""


@ampscript_function("Content")
def EndAssetBlock(*settings: params.Value) -> str:
    """Content Builder's marker for where an asset block ends: it prints nothing (see BeginAssetBlock)."""
    return ""
