"""Variables and the reference cells used for out-parameters."""

from __future__ import annotations

from typing import Any

from .values.model import UNSET


class Variables(dict):
    """A script's variables, keyed by their AMPscript names (``"@firstName"``).

    Names are case-insensitive, as in AMPscript: ``@FirstName`` and
    ``@firstname`` are one variable, shown under the spelling it was first set
    with.  Reading a variable that was never set, or declared with ``var`` and
    not set since, gives `UNSET`: null in every respect but IsNull()'s (see
    `ampscript.values.model`).  It is a real dict, so debuggers show it as one.
    """

    def __init__(self) -> None:
        super().__init__()
        self._spelling: dict[str, str] = {}

    def _key(self, name: str) -> str:
        return self._spelling.setdefault(name.lower(), name)

    def __getitem__(self, name: str) -> Any:
        key = self._spelling.get(name.lower())
        return UNSET if key is None else dict.__getitem__(self, key)

    def __setitem__(self, name: str, value: Any) -> None:
        dict.__setitem__(self, self._key(name), value)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._spelling

    def get(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self else default

    def declare(self, *names: str) -> None:
        """`var @a, @b`: the variables exist and are unset, even if they were set before.

        (Salesforce's Language Elements page: declaring a name that already
        exists sets its value to NULL.)
        """
        for name in names:
            self[name] = UNSET

    def ref(self, name: str) -> VariableRef:
        """A reference cell bound to a variable, to pass as an out-parameter."""
        return VariableRef(self, name)


class Ref:
    """A reference cell: how AMPscript's out-parameters reach Python.

    A function that writes into an argument (InvokeRetrieve's status, ...)
    declares that parameter as ``Ref`` and sets ``.value``.  Python callers can
    pass a plain ``Ref()`` and read ``.value`` afterwards.
    """

    def __init__(self, value: Any = None) -> None:
        self._value = value

    @property
    def value(self) -> Any:
        return self._value

    @value.setter
    def value(self, new: Any) -> None:
        self._value = new

    def __repr__(self) -> str:
        return f"Ref({self.value!r})"


class VariableRef(Ref):
    """A `Ref` whose cell is an AMPscript variable: setting it sets the variable."""

    def __init__(self, variables: Variables, name: str) -> None:
        self._variables = variables
        self.name = name

    @property
    def value(self) -> Any:
        return self._variables[self.name]

    @value.setter
    def value(self, new: Any) -> None:
        self._variables[self.name] = new

    def __repr__(self) -> str:
        return f"VariableRef({self.name!r}, {self.value!r})"
