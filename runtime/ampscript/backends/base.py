"""The interface every backend implements, and what its calls return.

Backends never raise for an API-level failure (unknown object, bad action,
object not found): like Marketing Cloud, they answer with an error status
and message, which the Invoke*() functions hand to the script.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Protocol

from ..api_objects import ApiObject
from ..values import Rowset


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


class Backend(Protocol):
    def create(self, target: ApiObject, options: ApiObject | None = None) -> CallResult: ...

    def update(self, target: ApiObject, options: ApiObject | None = None) -> CallResult: ...

    def delete(self, target: ApiObject, options: ApiObject | None = None) -> CallResult: ...

    def retrieve(self, request: ApiObject) -> RetrieveResult: ...

    def perform(self, target: ApiObject, action: str) -> CallResult: ...

    def execute(self, request: ApiObject) -> CallResult: ...
