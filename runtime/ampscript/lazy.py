"""Imports made on first use, not when the module that needs them is imported.

A compiled module imports only the function categories it calls, and a
category should not make every script that uses one of its functions pay
for a library (lxml, jsonpath-ng, httpx) that only some of them need::

    etree = lazy_module("lxml.etree")   # nothing imported yet
    etree.fromstring(data)              # lxml.etree imported here, once

Packages (`ampscript`, `ampscript.functions`, `ampc`) export their names the
same way, through PEP 562's module ``__getattr__`` (`lazy_exports`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for the module `name`, importing it when one of its attributes is first read."""

    def __init__(self, name: str) -> None:
        self.__name = name

    def __getattr__(self, attribute: str) -> Any:  # only called for what is not yet in __dict__
        value = getattr(import_module(self.__name), attribute)
        setattr(self, attribute, value)  # read directly from now on
        return value

    def __repr__(self) -> str:
        return f"<lazy module {self.__name!r}>"


def lazy_module(name: str) -> Any:
    """The module `name`, imported on first use (typed Any: it is used as the module itself)."""
    return LazyModule(name)


def import_module(name: str) -> ModuleType:
    """The module `name`, imported if need be.

    Not `importlib.import_module`: ``python -X importtime``, the tool for
    finding what a start-up spends, sees only the import statement's path.
    """
    if name not in sys.modules:
        __import__(name)
    return sys.modules[name]


def lazy_exports(namespace: dict[str, Any], exports: Mapping[str, str]) -> tuple[Callable, Callable]:
    """A package's ``__getattr__`` and ``__dir__``: each of the `exports` is imported on first use.

    `namespace` is the package's ``globals()``; `exports` maps a name to the
    submodule that defines it (``{"Context": "context"}``).
    """
    package = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        submodule = exports.get(name)
        if submodule is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f"{package}.{submodule}"), name)
        namespace[name] = value  # found directly from now on, without this hook
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
