"""The interface every backend implements, and what its calls return.

Backends never raise for an API-level failure (unknown object, bad action,
object not found): like Marketing Cloud, they answer with an error status
and message, which the Invoke*() functions hand to the script.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

from ..api_objects import ApiObject
from ..values import Rowset


T = TypeVar("T")


def new_request_id() -> str:
    return str(uuid.uuid4())


@dataclass
class CallResult:
    status: str  # "OK", "Error", ...
    message: str = ""
    request_id: str = field(default_factory=new_request_id)
    error_code: str | None = None
    new_id: int | None = None  # Create: the ID of the new object


@dataclass
class RetrieveResult:
    status: str  # "OK", "MoreDataAvailable", "Error"
    rows: Rowset
    request_id: str = field(default_factory=new_request_id)
    message: str = ""


def retrieve_all(api: Any, request: ApiObject, what: str) -> Rowset:
    """Every page of a retrieve, following ContinueRequest (Marketing Cloud answers 2,500 objects at a time).

    `api` is an `ampscript.capabilities.ApiObjects`; a status other than OK
    or MoreDataAvailable is a ScriptError starting with `what`.
    """
    from ..errors import ScriptError

    rows = Rowset()
    while True:
        result = api.retrieve(request)
        if result.status not in ("OK", "MoreDataAvailable"):
            raise ScriptError(f"{what}: {result.message or result.status}")
        rows.extend(result.rows)
        if result.status == "OK":
            return rows
        request = ApiObject("RetrieveRequest")
        request.set("ContinueRequest", result.request_id)


class Backend(Protocol):
    """What `Context(backend=...)` takes: a provider of capabilities (`ampscript.capabilities`).

    `name` says what it is in messages ("the embedded simulator");
    `capability(kind)` gives the object implementing a capability's
    interface, or None when it does not provide it; `render_scope()` gives
    a context manager around each top-level render (the simulator's
    transaction), or None.
    """

    name: str

    def capability(self, kind: type[T]) -> T | None: ...

    def render_scope(self) -> AbstractContextManager[Any] | None: ...
