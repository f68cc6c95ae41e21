"""Variables and the reference cells used for out-parameters."""

from __future__ import annotations

from typing import Any

from .values.model import UNSET


def fold(name: str) -> str:
    """A variable's key: its name in lower case (names are `@` and ASCII letters, digits and `_`)."""
    return name.lower()


class Variables(dict):
    """A script's variables, keyed by their names in lower case (``"@firstname"``).

    Names are case-insensitive, as in AMPscript: ``@FirstName`` and
    ``@firstname`` are one variable.  The compiler folds every name when it
    compiles, so generated code reads and writes with plain dict operations
    (``var["@firstname"]``), which is what makes variable access cheap; a
    debugger shows the variables as the dict they are.  Python code should
    use `get`/`set`/`ref`/`in`, which fold the name; a subscript with a name
    in another case reads the variable too, but writing one stores that key.

    Reading a variable that was never set, or declared with ``var`` and not
    set since, gives `UNSET`: null in every respect but IsNull()'s (see
    `ampscript.values.model`).
    """

    def __missing__(self, name: str) -> Any:
        folded = fold(name) if isinstance(name, str) else name
        if folded != name and dict.__contains__(self, folded):
            return dict.__getitem__(self, folded)
        return UNSET

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and dict.__contains__(self, fold(name))

    def get(self, name: str, default: Any = None) -> Any:
        return dict.get(self, fold(name), default)

    # Writes go through plain subscripts (Variables does not override
    # __setitem__): ``dict.__setitem__(self, ...)`` costs an attribute look-up
    # and a call more per name.

    def set(self, name: str, value: Any) -> None:
        self[fold(name)] = value

    def declare(self, *names: str) -> None:
        """`var @a, @b`: the variables exist and are unset, even if they were set before.

        (Salesforce's Language Elements page: declaring a name that already
        exists sets its value to NULL.)
        """
        for name in names:
            self[fold(name)] = UNSET

    def ref(self, name: str) -> VariableRef:
        """A reference cell bound to a variable, to pass as an out-parameter."""
        return VariableRef(self, fold(name))


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
        self._variables.set(self.name, new)

    def __repr__(self) -> str:
        return f"VariableRef({self.name!r}, {self.value!r})"
