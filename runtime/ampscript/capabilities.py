"""What a render can reach outside the script, one small interface per capability.

A function never asks a backend what it happens to have: it asks the
render's `Context` for a capability (``context.capability(DataExtensions,
"Lookup")``), and gets an object implementing that interface or a
`ScriptError` naming the capability, the function and the backend that
lacks it.

Where a capability comes from, first match wins:

1. a connection given to the context for it (``Context(connections=[...])``:
   any object with a ``capability(kind)`` method, e.g. a Salesforce REST
   connector next to the default simulator);
2. the context's backend (``Context(backend=...)``: the embedded simulator
   by default, or a Marketing Cloud tenant), through its own
   ``capability(kind)``, which names what it provides explicitly;
3. content only: the workspace's ``Content/`` folder, when the context was
   given no backend (content needs no simulator database).

The interfaces take request objects where a call has more than two or
three inputs, so a new option does not change every implementation's
signature.  They are named tuples: immutable, and quick to define (a
frozen dataclass costs a millisecond or two of every start-up).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, Protocol, TypeVar, runtime_checkable

from .errors import ScriptError

if TYPE_CHECKING:
    from .api_objects import ApiObject
    from .backends.base import CallResult, RetrieveResult
    from .content import ContentBlock, ContentImage
    from .data_extensions import DataExtensionSpec
    from .values import Row

T = TypeVar("T")


@runtime_checkable
class Provider(Protocol):
    """A backend or connection: what it is called in messages, and the capabilities it provides."""

    name: str

    def capability(self, kind: type[T]) -> T | None: ...


# ---- data extensions ----------------------------------------------------------------


class RowsRequest(NamedTuple):
    """Which rows of a data extension: field/value pairs ANDed, an order, at most `limit` rows."""

    data_extension: str
    criteria: Sequence[tuple[str, Any]] = ()
    order_by: str | None = None  # "Points DESC, Name"
    limit: int | None = None
    case_sensitive: bool = False


class ClaimRequest(NamedTuple):
    """ClaimRow(): the claimant's row if it has one, else the first unclaimed row, now claimed."""

    data_extension: str
    claim_column: str
    claimant: Sequence[tuple[str, Any]] = ()


class DataExtensions(Protocol):
    CAPABILITY: ClassVar[str] = "data extensions"

    def spec(self, name: str) -> DataExtensionSpec: ...

    def select(self, request: RowsRequest) -> list[Row]: ...

    def count(self, name: str, criteria: Sequence[tuple[str, Any]] = ()) -> int: ...

    def insert(self, name: str, values: dict[str, Any]) -> int: ...

    def update(self, name: str, criteria: Sequence[tuple[str, Any]], values: dict[str, Any]) -> int: ...

    def upsert(self, name: str, criteria: Sequence[tuple[str, Any]], values: dict[str, Any]) -> int: ...

    def delete(self, name: str, criteria: Sequence[tuple[str, Any]]) -> int: ...

    def claim(self, request: ClaimRequest) -> Row | None: ...


# ---- Marketing Cloud API objects (the SOAP verbs) ------------------------------------


class ApiObjects(Protocol):
    """Create, Update, Delete, Retrieve, Perform and Execute on Marketing Cloud API objects.

    API-level failures are answers (an error status and message), not
    exceptions, as Marketing Cloud hands them to the script.
    """

    CAPABILITY: ClassVar[str] = "Marketing Cloud API objects"

    def create(self, target: ApiObject, options: ApiObject | None = None) -> CallResult: ...

    def update(self, target: ApiObject, options: ApiObject | None = None) -> CallResult: ...

    def delete(self, target: ApiObject, options: ApiObject | None = None) -> CallResult: ...

    def retrieve(self, request: ApiObject) -> RetrieveResult: ...

    def perform(self, target: ApiObject, action: str) -> CallResult: ...

    def execute(self, request: ApiObject) -> CallResult: ...


# ---- content --------------------------------------------------------------------------


class Content(Protocol):
    """Content blocks and images by name, customer key and ID."""

    CAPABILITY: ClassVar[str] = "content"

    origin: str  # where content comes from, for messages: "the workspace's Content/ folder (...)"

    def block_by_name(self, name: str) -> ContentBlock | None: ...

    def block_by_key(self, key: str) -> ContentBlock | None: ...

    def block_by_id(self, id_: str) -> ContentBlock | None: ...

    def image_by_key(self, key: str) -> ContentImage | None: ...

    def image_by_id(self, id_: str) -> ContentImage | None: ...

    def source(self, block: ContentBlock) -> str: ...

    def file_path(self, block: ContentBlock) -> str | None:
        """The block's file on this machine, for debuggers and tracebacks; None when it has none."""
        ...


# ---- Sales and Service Cloud --------------------------------------------------------------


class SalesforceCondition(NamedTuple):
    """One `field operator value` set of RetrieveSalesforceObjects()."""

    field: str
    operator: str  # "=", "!=", "<", "<=", ">", ">="
    value: str


class SalesforceQuery(NamedTuple):
    sobject: str
    fields: Sequence[str]
    conditions: Sequence[SalesforceCondition] = ()
    limit: int = 1000  # "the resulting rowset contains a maximum of 1,000 rows"


class SalesforceCRM(Protocol):
    """A Salesforce org reached through Marketing Cloud Connect.

    Failures raise `ScriptError` with Marketing Cloud's wording, as the
    AMPscript functions stop the render on them.
    """

    CAPABILITY: ClassVar[str] = "Sales and Service Cloud (Marketing Cloud Connect)"

    def create(self, sobject: str, values: Sequence[tuple[str, Any]]) -> str:
        """The new record's 18-character ID."""
        ...

    def retrieve(self, query: SalesforceQuery) -> list[Row]: ...

    def update(self, sobject: str, record_id: str, values: Sequence[tuple[str, Any]]) -> bool: ...

    def job_sources(self, job_id: str) -> list[Row]:
        """RetrieveSalesforceJobSources(): the campaigns, reports or lists a send went to."""
        ...


# ---- Microsoft Dynamics CRM ----------------------------------------------------------------


# What Dynamics answers for a value that is no GUID (the Web API's and the simulator's message alike).
GUID_ERROR = "Guid should contain 32 digits with 4 dashes (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)."
_GUID = re.compile(r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$")


def normalize_guid(text: Any) -> str | None:
    """A GUID in Dynamics' form (lower case, no braces), or None if the text is not one."""
    match = _GUID.match(str(text).strip()) if text is not None else None
    return match.group(1).lower() if match else None


class DynamicsError(ScriptError):
    """A failure the Dynamics organization reports (unknown entity or attribute, a wrong value, a missing record).

    Providers raise it with the organization's own wording; the functions
    (`ampscript.functions.dynamics`) put the function's name in front.
    """


class DynamicsCondition(NamedTuple):
    """One condition on an attribute, with FetchXML's operator names.

    ``operator`` is one of eq, ne, lt, le, gt, ge, like, not-like,
    begins-with, ends-with, null, not-null, in; ``value`` is the text to
    compare with (None for null / not-null), ``values`` the list for in.
    """

    attribute: str
    operator: str
    value: Any = None
    values: Sequence[Any] = ()


class DynamicsQuery(NamedTuple):
    """Records of one entity: the attributes to return, conditions ANDed, an order and a row limit."""

    entity: str
    attributes: Sequence[str]
    conditions: Sequence[DynamicsCondition] = ()
    order_by: Sequence[tuple[str, bool]] = ()  # (attribute, descending)
    limit: int | None = None


class DynamicsUpsert(NamedTuple):
    """UpsertMscrmRecord(): update the first record matching `match` (in `order_by` order), or create one.

    A created record gets the `match` pairs and the `values` pairs; an
    updated one only the `values` pairs.
    """

    entity: str
    match: Sequence[tuple[str, Any]]
    values: Sequence[tuple[str, Any]]
    order_by: Sequence[tuple[str, bool]] = ()  # (attribute, descending)


class DynamicsCRM(Protocol):
    """A Microsoft Dynamics CRM (Dataverse) organization reached through Marketing Cloud's connector.

    Entity and attribute names are logical names (``contact``,
    ``emailaddress1``), matched without regard to case; record IDs are
    GUIDs.  Failures raise `DynamicsError`.
    """

    CAPABILITY: ClassVar[str] = "Microsoft Dynamics CRM"

    def describe_entities(self) -> list[Row]:
        """One row per entity: Name (logical name) and DisplayName."""
        ...

    def describe_attributes(self, entity: str) -> list[Row]:
        """One row per attribute: Name, DisplayName, Type, Required, Options."""
        ...

    def create(self, entity: str, values: Sequence[tuple[str, Any]]) -> str:
        """The new record's GUID."""
        ...

    def retrieve(self, query: DynamicsQuery) -> list[Row]: ...

    def retrieve_fetch_xml(self, fetch_xml: str) -> list[Row]: ...

    def update(self, entity: str, ids: Sequence[str], values: Sequence[tuple[str, Any]]) -> int:
        """How many of the records were updated (a GUID no record has is not counted)."""
        ...

    def upsert(self, request: DynamicsUpsert) -> str:
        """The GUID of the record updated or created."""
        ...

    def set_state(self, entity: str, record_id: str, state: str, status: int) -> None:
        """`state` by name (Active, Inactive) or code; `status` a status code, -1 for the state's default."""
        ...

    def add_list_member(self, list_id: str, member_id: str) -> None:
        """Add an account, contact or lead to a marketing list (nothing if it is a member already)."""
        ...


# ---- MobileConnect --------------------------------------------------------------------------


class SmsConversation(NamedTuple):
    """An SMS conversation between one of the account's numbers and a contact's phone."""

    origination_number: str  # the short or long code
    destination_number: str  # the contact's phone, with its country code
    next_keyword: str | None


class MobileConnect(Protocol):
    """SMS conversations and their next keywords, and MobileConnect contacts."""

    CAPABILITY: ClassVar[str] = "MobileConnect"

    def create_conversation(self, origination_number: str, destination_number: str, next_keyword: str) -> None: ...

    def end_conversation(self, origination_number: str, destination_number: str) -> None: ...

    def set_next_keyword(self, origination_number: str, destination_number: str, keyword: str) -> None: ...

    def conversation(self, origination_number: str, destination_number: str) -> SmsConversation | None:
        """The active conversation between the two numbers, if there is one."""
        ...

    def upsert_contact(self, phone_number: str, attributes: Sequence[tuple[str, Any]]) -> None:
        """Create or update the contact with this phone number (the mobile channel's key)."""
        ...

    def contact(self, phone_number: str) -> Row | None: ...


CAPABILITIES: tuple[type, ...] = (DataExtensions, ApiObjects, Content, SalesforceCRM, DynamicsCRM, MobileConnect)


def capability_name(kind: type) -> str:
    """The capability as messages name it: "data extensions", "MobileConnect"."""
    return kind.CAPABILITY  # type: ignore[attr-defined]
