"""``import welcome`` loads ``welcome.amp``: an import hook for AMPscript files on ``sys.path``.

    import ampc.importer          # or: import ampc; ampc.install()
    import welcome                # finds welcome.amp (or welcome.ampscript)
    print(welcome.render())

The module is compiled by the fast emitter (`ampc.compiler.compile_code`):
its code objects' file is the ``.amp`` path and their line numbers are the
script's own, so ``break welcome.amp:7`` in pdb, a breakpoint on line 7 of
``welcome.amp`` in an IDE, tracebacks, warnings, logging and profilers all
speak in ``.amp`` lines.  Rendering without a context takes the ``.amp``
file's folder as the workspace, as ``ampc run`` does.

The compiled code is cached like a ``.pyc``, in ``__pycache__/`` beside the
script (``welcome.amp.cpython-311.ampc.pyc``, a name of its own, so that it
never collides with the ``welcome.py`` that ``ampc compile`` writes).  The
cache is used only when the script's content, the Python version and the
compiler (ampc's version and its files) are the ones it was made with;
otherwise the script is compiled again and the cache rewritten.  As with
``.pyc`` files, ``sys.dont_write_bytecode`` (``python -B``) stops the
writing, and a folder that cannot be written to just goes uncached.

Choice: the finder comes last on ``sys.meta_path``, so a Python module or
package of the same name wins: an ``.amp`` file never shadows ``json`` or
the ``welcome.py`` compiled from it.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import marshal
import os
import sys
import types
from collections.abc import Sequence
from pathlib import Path

from ampscript.rendering import SCRIPT_SUFFIXES

_CACHE_SUFFIX = ".ampc.pyc"
_FINGERPRINT_BYTES = 16


class AmpscriptFinder(importlib.abc.MetaPathFinder):
    """Finds ``<name>.amp`` / ``<name>.ampscript`` on ``sys.path`` (or in a package's ``__path__``)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        name = fullname.rpartition(".")[2]
        for entry in sys.path if path is None else path:
            if not isinstance(entry, str):
                continue
            for suffix in SCRIPT_SUFFIXES:
                candidate = os.path.join(entry or ".", name + suffix)
                if os.path.isfile(candidate):
                    origin = os.path.abspath(candidate)
                    return importlib.util.spec_from_file_location(
                        fullname, origin, loader=AmpscriptLoader(fullname, origin)
                    )
        return None


class AmpscriptLoader(importlib.abc.Loader):
    """Compiles (or takes from the cache) and runs one AMPscript file as a module."""

    def __init__(self, fullname: str, path: str) -> None:
        self.name = fullname
        self.path = path

    def get_filename(self, fullname: str | None = None) -> str:
        return self.path

    def get_source(self, fullname: str | None = None) -> str:
        """The AMPscript itself: the source the code objects' lines refer to."""
        return Path(self.path).read_text(encoding="utf-8")

    def get_code(self, fullname: str | None = None) -> types.CodeType:
        data = Path(self.path).read_bytes()
        cache = cache_path(self.path)
        key = _cache_key(data)
        if cache is not None:
            code = _read_cache(cache, key)
            if code is not None:
                return code
        from .compiler import compile_code

        try:
            code = compile_code(data.decode("utf-8"), self.path)
        except UnicodeDecodeError as error:
            raise ImportError(f"{self.path} is not UTF-8 text ({error.reason} at byte {error.start})",
                              name=self.name, path=self.path) from None
        if cache is not None and not sys.dont_write_bytecode:
            _write_cache(cache, key, code)
        return code

    def exec_module(self, module: types.ModuleType) -> None:
        from ampc.errors import CompileError

        try:
            code = self.get_code(self.name)
        except CompileError as error:
            raise error.with_traceback(None) from None  # the script's mistake: its message, not our frames
        exec(code, module.__dict__)  # noqa: S102 (code the compiler built from syntax-tree nodes)


def cache_path(script: str) -> Path | None:
    """Where the compiled code of `script` is cached (None when this Python has no cache tag)."""
    tag = sys.implementation.cache_tag
    if tag is None:
        return None
    path = Path(script)
    return path.parent / "__pycache__" / f"{path.name}.{tag}{_CACHE_SUFFIX}"


def _cache_key(source: bytes) -> bytes:
    """Python's bytecode magic, the compiler's fingerprint and the script's hash: all must match to use a cache."""
    return importlib.util.MAGIC_NUMBER + compiler_fingerprint() + hashlib.sha256(source).digest()


def _read_cache(cache: Path, key: bytes) -> types.CodeType | None:
    try:
        data = cache.read_bytes()
    except OSError:
        return None
    if not data.startswith(key):
        return None
    try:
        code = marshal.loads(data[len(key):])
    except (EOFError, ValueError, TypeError):
        return None  # a truncated or damaged cache: compile again
    return code if isinstance(code, types.CodeType) else None


def _write_cache(cache: Path, key: bytes, code: types.CodeType) -> None:
    """Write atomically (a reader never sees half a file); a folder we cannot write to stays uncached."""
    temporary = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
    try:
        cache.parent.mkdir(exist_ok=True)
        temporary.write_bytes(key + marshal.dumps(code))
        os.replace(temporary, cache)
    except OSError:
        try:
            temporary.unlink(missing_ok=True)
        except OSError:
            pass


_fingerprint: bytes | None = None


def compiler_fingerprint() -> bytes:
    """What the compiled code depends on besides the script: ampc's version and the files of both packages.

    The files' sizes and modification times stand for their content (as
    ``.pyc`` files do), so a changed compiler or runtime in an editable
    install invalidates every cache.  Computed once per process.
    """
    global _fingerprint
    if _fingerprint is None:
        import ampscript

        import ampc

        digest = hashlib.sha256(str(ampc.__version__).encode())
        for package in (ampc, ampscript):
            root = Path(package.__file__).parent
            for file in sorted(root.rglob("*")):
                if file.suffix in (".py", ".lark", ".json") and "__pycache__" not in file.parts:
                    stat = file.stat()
                    digest.update(f"{file.relative_to(root)}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
        _fingerprint = digest.digest()[:_FINGERPRINT_BYTES]
    return _fingerprint


def install() -> AmpscriptFinder:
    """Let ``import name`` load ``name.amp`` from ``sys.path`` (idempotent); returns the finder."""
    for finder in sys.meta_path:
        if isinstance(finder, AmpscriptFinder):
            return finder
    finder = AmpscriptFinder()
    sys.meta_path.append(finder)
    return finder


def uninstall() -> None:
    """Undo `install`: modules already imported stay imported."""
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, AmpscriptFinder)]


install()
