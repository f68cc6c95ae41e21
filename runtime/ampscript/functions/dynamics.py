"""The Microsoft Dynamics CRM functions of Salesforce's AMPscript reference.

https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-mscrm

Each asks the render's context for the Dynamics CRM capability
(`ampscript.capabilities.DynamicsCRM`): the simulator's organization
(`ampscript.backends.dynamics_org`, seeded from the workspace's
``DynamicsCRM/`` folder) by default, or a real one
(`ampscript.backends.dataverse.DataverseConnector`) given as a connection.
What the organization refuses stops the render with its message, after the
function's name.

Where the reference and the shared catalog disagree, the reference wins:
AddMscrmListMember() takes the record first and the list second,
SetStateMscrmRecord() the record's GUID first and the entity second,
CreateMscrmRecord() the number of pairs after the entity, and
UpsertMscrmRecord() a sort field, a sort order and counted filter and
update pairs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..capabilities import DynamicsCondition, DynamicsCRM, DynamicsError, DynamicsQuery, DynamicsUpsert
from ..errors import ScriptError
from ..registry import ampscript_function
from ..rendering import current_context
from ..values import Rowset, params, parse_number, to_text
from ..function_arguments import name_value_pairs

__all__ = [
    "AddMscrmListMember",
    "CreateMscrmRecord",
    "DescribeMscrmEntities",
    "DescribeMscrmEntityAttributes",
    "RetrieveMscrmRecords",
    "RetrieveMscrmRecordsFetchXml",
    "SetStateMscrmRecord",
    "UpdateMscrmRecords",
    "UpsertMscrmRecord",
]

CATEGORY = "Microsoft Dynamics CRM"

# RetrieveMscrmRecords()'s operators: the reference's example uses "="; the
# comparison symbols, their FetchXML names and like are accepted too (choice).
_OPERATORS = {
    "=": "eq", "==": "eq", "eq": "eq", "equal": "eq", "equals": "eq",
    "!=": "ne", "<>": "ne", "ne": "ne", "neq": "ne", "notequal": "ne",
    "<": "lt", "lt": "lt", "lessthan": "lt",
    "<=": "le", "le": "le", "lessequal": "le",
    ">": "gt", "gt": "gt", "greaterthan": "gt",
    ">=": "ge", "ge": "ge", "greaterequal": "ge",
    "like": "like", "notlike": "not-like",
    "beginswith": "begins-with", "endswith": "ends-with",
    "null": "null", "isnull": "null", "notnull": "not-null", "isnotnull": "not-null",
}
# Entities whose state Dynamics changes with requests of their own (the reference's note).
_STATE_BY_OWN_REQUESTS = {
    "opportunity": "WinOpportunity and LoseOpportunity",
    "incident": "CloseIncident",
    "quote": "WinQuote and CloseQuote",
    "salesorder": "FulfillSalesOrder and CancelSalesOrder",
}


def _organization(function: str) -> DynamicsCRM:
    return current_context().capability(DynamicsCRM, function)


@contextmanager
def _reported(function: str) -> Iterator[None]:
    """The organization's refusals as the function's errors."""
    try:
        yield
    except DynamicsError as error:
        raise ScriptError(f"{function}(): {error.message}", hint=error.hint) from None


def _entity(name: str, function: str, parameter: str = "entityName") -> str:
    name = name.strip()
    if not name:
        raise ScriptError(f"{function}() needs the name of a Microsoft Dynamics CRM entity ({parameter})")
    return name


def _count(value: Any, function: str, parameter: str) -> int:
    number = parse_number(value)
    if not isinstance(number, int) or number < 1:
        raise ScriptError(f"{function}(): {parameter} must be a whole number of name/value pairs (1 or more), got {to_text(value)!r}")
    return number


def _pairs(values: Sequence[Any], function: str, first_position: int) -> list[tuple[str, Any]]:
    return name_value_pairs(values, function, first_position, noun="attribute", empty_names=False)


def _rowset(rows: list[Any]) -> Rowset:
    return Rowset(rows)


@ampscript_function(CATEGORY)
def AddMscrmListMember(record_guid: params.Text, list_guid: params.Text) -> None:
    """Add a lead, contact or account (by GUID) to a marketing list (by GUID); returns nothing.

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-mscrm/mc-ampscript-reference-microsoft-dynamics-crm-add-list-member.html
    A record that is a member already stays one (no error, no second
    membership), as Dynamics' AddMemberList does.
    """
    function = "AddMscrmListMember"
    if not record_guid.strip() or not list_guid.strip():
        raise ScriptError(f"{function}() needs the GUID of a record and the GUID of a marketing list")
    organization = _organization(function)
    with _reported(function):
        organization.add_list_member(list_guid.strip(), record_guid.strip())


@ampscript_function(CATEGORY)
def CreateMscrmRecord(
    entity_name: params.Text,
    num_fields: params.Value,
    attribute_name1: params.Text,
    attribute_value1: params.Value,
    *more: params.Value,
) -> str:
    """Create a record from `num_fields` attribute name/value pairs; returns its GUID.

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-mscrm/mc-ampscript-reference-microsoft-dynamics-crm-create-record.html
    Choice: `num_fields` must be the number of pairs that follow (the
    reference says it counts them; a mismatch is an error rather than a
    guess at which pairs were meant).
    """
    function = "CreateMscrmRecord"
    entity = _entity(entity_name, function)
    count = _count(num_fields, function, "numFields")
    pairs = _pairs((attribute_name1, attribute_value1, *more), function, 3)
    if count != len(pairs):
        raise ScriptError(
            f"{function}(): numFields is {count}, but {len(pairs)} attribute name/value "
            f"pair{'s' if len(pairs) != 1 else ''} follow{'s' if len(pairs) == 1 else ''}"
        )
    organization = _organization(function)
    with _reported(function):
        return organization.create(entity, pairs)


@ampscript_function(CATEGORY)
def DescribeMscrmEntities() -> Rowset:
    """Every entity of the organization: a rowset of Name (logical name) and DisplayName.

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-mscrm/mc-ampscript-reference-microsoft-dynamics-crm-describe-entities.html
    """
    function = "DescribeMscrmEntities"
    organization = _organization(function)
    with _reported(function):
        return _rowset(organization.describe_entities())


@ampscript_function(CATEGORY)
def DescribeMscrmEntityAttributes(entity_name: params.Text) -> Rowset:
    """An entity's attributes: a rowset of Name, DisplayName, Type, Required and Options.

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-mscrm/mc-ampscript-reference-microsoft-dynamics-crm-describe-entity-attributes.html
    Type is Dynamics' attribute type (String, Integer, Picklist, Lookup...);
    Required is true when a new record must have a value; Options, for
    Boolean, Picklist, State and Status attributes, lists each option as
    ``value:label``, separated by commas (choice: the reference says "a
    comma-separated list of option and display values" without showing
    one), and is empty for the other types.
    """
    function = "DescribeMscrmEntityAttributes"
    entity = _entity(entity_name, function)
    organization = _organization(function)
    with _reported(function):
        return _rowset(organization.describe_attributes(entity))


def _operator(text: str, function: str) -> str:
    key = "".join(text.lower().replace("-", " ").split())  # "Not Like", "not-like" and "notlike" alike
    if key not in _OPERATORS:
        raise ScriptError(
            f"{function}(): unknown filter operator {text!r}",
            hint="use =, !=, <>, <, <=, >, >=, like, not like, begins with, ends with, null or not null",
        )
    return _OPERATORS[key]


@ampscript_function(CATEGORY)
def RetrieveMscrmRecords(
    entity_name: params.Text,
    fields_to_retrieve: params.Text,
    query_field_name: params.Text,
    query_field_operator: params.Text,
    query_field_value: params.Value,
) -> Rowset:
    """The records where `query_field_name` compares with `query_field_value`: a rowset of the listed fields.

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-mscrm/mc-ampscript-reference-microsoft-dynamics-crm-retrieve-records.html
    `fields_to_retrieve` is a comma-separated list of attribute names;
    the operator is =, the other comparisons (!= or <>, <, <=, >, >=),
    like / not like (with % and _ wildcards), begins with, ends with, or
    null / not null (whose value is ignored); text compares ignoring case.
    """
    function = "RetrieveMscrmRecords"
    entity = _entity(entity_name, function)
    fields = [name.strip() for name in fields_to_retrieve.split(",") if name.strip()]
    if not fields:
        raise ScriptError(f"{function}() needs a comma-separated list of fields to retrieve (fieldsToRetrieve)")
    if not query_field_name.strip():
        raise ScriptError(f"{function}() needs the name of the field to filter on (queryFieldName)")
    operator = _operator(query_field_operator, function)
    value = None if operator in ("null", "not-null") else query_field_value
    condition = DynamicsCondition(query_field_name.strip(), operator, value)
    organization = _organization(function)
    with _reported(function):
        return _rowset(organization.retrieve(DynamicsQuery(entity, fields, (condition,))))


@ampscript_function(CATEGORY)
def RetrieveMscrmRecordsFetchXml(fetch_xml_query: params.Text) -> Rowset:
    """The records a FetchXML query selects: a rowset of the attributes it names.

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-mscrm/mc-ampscript-reference-microsoft-dynamics-crm-retrieve-records-fetch-xml.html
    A linked entity's attribute is named ``alias.attribute``.
    """
    function = "RetrieveMscrmRecordsFetchXml"
    if not fetch_xml_query.strip():
        raise ScriptError(f"{function}() needs a FetchXML query")
    organization = _organization(function)
    with _reported(function):
        return _rowset(organization.retrieve_fetch_xml(fetch_xml_query))


@ampscript_function(CATEGORY)
def SetStateMscrmRecord(
    record_guid: params.Text, entity_name: params.Text, state_to_set: params.Text, status_to_set: params.Text
) -> None:
    """Set a record's state (Active or Inactive) and status (a status code; -1: the state's default); returns nothing.

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-mscrm/mc-ampscript-reference-microsoft-dynamics-crm-set-state-record.html
    The state is named in any case, or given by its code.  Opportunities,
    cases, quotes and orders change state through requests of their own,
    so, as the reference warns, this function does not work for them: it
    says so.
    """
    function = "SetStateMscrmRecord"
    entity = _entity(entity_name, function)
    if not record_guid.strip():
        raise ScriptError(f"{function}() needs the GUID of the record (recordGuid)")
    if not state_to_set.strip():
        raise ScriptError(f"{function}() needs the state to set (stateToSet): Active or Inactive")
    status = parse_number(status_to_set.strip())
    if not isinstance(status, int) or status < -1:
        raise ScriptError(
            f"{function}(): statusToSet must be a status code (0, 1, ...) or -1 for the state's default status, "
            f"got {status_to_set!r}"
        )
    requests = _STATE_BY_OWN_REQUESTS.get(entity.lower())
    if requests is not None:
        raise ScriptError(
            f"{function}(): the state of {entity.lower()} records cannot be set with this function; "
            f"Dynamics CRM changes it with its own requests ({requests})"
        )
    organization = _organization(function)
    with _reported(function):
        organization.set_state(entity, record_guid.strip(), state_to_set.strip(), status)


@ampscript_function(CATEGORY)
def UpdateMscrmRecords(
    entity_name: params.Text,
    guids_to_update: params.Text,
    attribute_name1: params.Text,
    attribute_value1: params.Value,
    *more: params.Value,
) -> int:
    """Set the attribute name/value pairs on the records of a comma-separated list of GUIDs; returns how many were updated.

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-mscrm/mc-ampscript-reference-microsoft-dynamics-crm-update-records.html
    Choice: a GUID that no record of the entity has is not counted (the
    reference counts "successfully updated records"); text that is not a
    GUID, an unknown attribute or a value of the wrong type is an error.
    """
    function = "UpdateMscrmRecords"
    entity = _entity(entity_name, function)
    ids = [guid.strip() for guid in guids_to_update.split(",") if guid.strip()]
    if not ids:
        raise ScriptError(f"{function}() needs a comma-separated list of the GUIDs to update (guidsToUpdate)")
    pairs = _pairs((attribute_name1, attribute_value1, *more), function, 3)
    organization = _organization(function)
    with _reported(function):
        return organization.update(entity, ids, pairs)


@ampscript_function(CATEGORY)
def UpsertMscrmRecord(
    entity_name: params.Text,
    sort_field: params.Text,
    sort_type: params.Text,
    num_pairs_for_filter: params.Value,
    filter_attribute_name: params.Text,
    filter_attribute_value: params.Value,
    num_pairs_for_update: params.Value,
    update_attribute_name: params.Value,
    update_attribute_value: params.Value,
    *more: params.Value,
) -> str:
    """Update the first record matching the filter pairs (sorted by `sort_field`), or create one; returns its GUID.

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-mscrm/mc-ampscript-reference-microsoft-dynamics-crm-upsert-record.html
    Arguments: the entity, the sort field, ASC or DESC, the number of filter
    pairs and the pairs, the number of update pairs and the pairs.  Filter
    pairs match with equality (text ignoring case); a found record gets the
    update pairs, a created one the filter pairs and the update pairs.
    """
    function = "UpsertMscrmRecord"
    entity = _entity(entity_name, function)
    order = sort_type.strip().upper()
    if order not in ("ASC", "DESC"):
        raise ScriptError(f"{function}(): sortType must be ASC or DESC, got {sort_type!r}")
    if not sort_field.strip():
        raise ScriptError(f"{function}() needs the field to sort the matching records on (sortField)")
    rest = [
        filter_attribute_name, filter_attribute_value, num_pairs_for_update, update_attribute_name,
        update_attribute_value, *more,
    ]
    filters = _count(num_pairs_for_filter, function, "numPairsForFilter")
    if len(rest) < 2 * filters + 1:
        raise ScriptError(
            f"{function}(): numPairsForFilter is {filters}, but fewer pairs follow, and numPairsForUpdate after them"
        )
    match = _pairs(rest[: 2 * filters], function, 5)
    updates_position = 5 + 2 * filters
    updates = _count(rest[2 * filters], function, f"numPairsForUpdate (argument {updates_position})")
    values = _pairs(rest[2 * filters + 1 :], function, updates_position + 1)
    if len(values) != updates:
        raise ScriptError(
            f"{function}(): numPairsForUpdate is {updates}, but {len(values)} update name/value "
            f"pair{'s' if len(values) != 1 else ''} follow"
        )
    organization = _organization(function)
    request = DynamicsUpsert(entity, match, values, ((sort_field.strip(), order == "DESC"),))
    with _reported(function):
        return organization.upsert(request)
