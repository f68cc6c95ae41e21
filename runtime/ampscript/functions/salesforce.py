"""The Sales and Service Cloud functions of Salesforce's AMPscript reference.

https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-salesforce/mc-ampscript-reference-salesforce.html

LongSFID works on its argument alone; the others reach a Salesforce org
through the render's Sales and Service Cloud capability (see below).
"""

from __future__ import annotations


from ..capabilities import SalesforceCondition, SalesforceCRM, SalesforceQuery
from ..errors import ScriptError
from ..registry import ampscript_function
from ..rendering import current_context
from ..salesforce_ids import long_id
from ..values import Rowset, params
from ..function_arguments import check_count, name_value_pairs

__all__ = [
    "CreateSalesforceObject", "LongSFID", "RetrieveSalesforceJobSources", "RetrieveSalesforceObjects",
    "UpdateSingleSalesforceObject",
]

SALESFORCE_OPERATORS = ("=", "!=", "<", "<=", ">", ">=")
# "the resulting rowset contains a maximum of 1,000 rows" (RetrieveSalesforceObjects, Salesforce's reference)
MAX_RETRIEVED_RECORDS = 1000

@ampscript_function("Sales and Service Cloud")
def LongSFID(short_sfid: params.Text) -> str:
    """The 18-character form of a 15-character Salesforce ID: the ID and its three-character case suffix.

    ``LongSFID("0036000000QKv5T")`` is ``0036000000QKv5TAAT`` (Salesforce's
    reference).  Text of any other length is given back unchanged, with no
    error: an 18-character ID stays as it is, and so do "ABC" and ""
    (sfmc.guide's LongSFID test script,
    https://sfmc.guide/engagement/ampscript/functions/longsfid/).  Choice:
    any 15 characters get a suffix, whether or not they are a valid ID, as
    the computation itself does not care.
    """
    return long_id(short_sfid)


# ---- reaching the org -------------------------------------------------------------------
#
# Each function asks the render's context for the Sales and Service Cloud
# capability: the org simulator (`ampscript.backends.salesforce_org`) by
# default, or a Salesforce REST connection
# (`ampscript.backends.salesforce_rest`).  A fault (an object or field the
# org does not have, a value it refuses on create) stops the render, as a
# SOAP fault aborts a page on Marketing Cloud (sfmc.guide's
# CreateSalesforceObject test script).


def _org(function: str) -> SalesforceCRM:
    return current_context().capability(SalesforceCRM, function)


def _object_name(name: str, function: str) -> str:
    if not name.strip():
        raise ScriptError(f"{function}() needs the API name of a Salesforce object, such as \"Lead\"")
    return name.strip()


def _faulted(function: str, error: ScriptError) -> ScriptError:
    """The org's fault as the function's error (the message keeps Salesforce's code: INVALID_FIELD: ...)."""
    return ScriptError(f"{function}(): Salesforce refused the call: {error.message}", hint=error.hint)


@ampscript_function("Sales and Service Cloud")
def CreateSalesforceObject(
    object_name: params.Text, num_fields: params.Integer, field_name: params.Text, field_value: params.Value,
    *more: params.Pairs,
) -> str:
    """Create a record from `num_fields` name/value pairs; returns the new record's 18-character ID.

    ``CreateSalesforceObject("Lead", 2, "FirstName", "Chris", "LastName",
    "Cruz")`` (Salesforce's reference).  `num_fields` "must match the
    number of name-value pairs".  Choice: a record the org refuses (a
    required field missing, a value of the wrong type) stops the render
    like a fault, since the function has no ID to return.
    """
    function = "CreateSalesforceObject"
    pairs = name_value_pairs((field_name, field_value, *more), function, 3, empty_names=False)
    check_count(num_fields, pairs, function)
    org = _org(function)
    try:
        return org.create(_object_name(object_name, function), pairs)
    except ScriptError as error:
        raise _faulted(function, error) from None


@ampscript_function("Sales and Service Cloud")
def RetrieveSalesforceObjects(
    object_name: params.Text,
    fields_to_retrieve: params.Text,
    query_field_name: params.Text,
    query_field_operator: params.Text,
    query_field_value: params.Text,
    *more: params.Text,
) -> Rowset:
    """The records matching every `field, operator, value` set (ANDed), with the listed fields; at most 1,000.

    Operators: ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` (the reference's
    list).  Fields are a comma-separated list (``"FirstName,LastName"``).
    The rows come in the org's order (the simulator's: the order records
    were made; choice, as Salesforce promises none without ORDER BY).
    """
    function = "RetrieveSalesforceObjects"
    sets = (query_field_name, query_field_operator, query_field_value, *more)
    if len(sets) % 3:
        raise ScriptError(
            f"{function}() takes conditions in threes (field name, operator, value): "
            f"the last set has {len(sets) % 3} of them"
        )
    conditions = []
    for i in range(0, len(sets), 3):
        name, operator, value = sets[i].strip(), sets[i + 1].strip(), sets[i + 2]
        if operator == "<>":
            operator = "!="
        if operator not in SALESFORCE_OPERATORS:
            raise ScriptError(
                f"{function}(): {sets[i + 1]!r} is not an operator; use one of {', '.join(SALESFORCE_OPERATORS)}"
            )
        conditions.append(SalesforceCondition(name, operator, value))
    fields = [name.strip() for name in fields_to_retrieve.split(",") if name.strip()]
    if not fields:
        raise ScriptError(f'{function}() needs the fields to retrieve, such as "FirstName,LastName"')
    query = SalesforceQuery(_object_name(object_name, function), fields, conditions, limit=MAX_RETRIEVED_RECORDS)
    org = _org(function)
    try:
        return Rowset(org.retrieve(query))
    except ScriptError as error:
        raise _faulted(function, error) from None


@ampscript_function("Sales and Service Cloud")
def UpdateSingleSalesforceObject(
    object_name: params.Text, id_to_update: params.Text, field_name: params.Text, field_value: params.Value,
    *more: params.Pairs,
) -> int:
    """Update one record's fields; 1 if it was updated, else 0.

    The field name ``fieldsToNull`` with a comma-separated list of fields
    sets them to null (Salesforce's reference:
    ``UpdateSingleSalesforceObject('Lead', @id, 'fieldsToNull', 'Phone')``).
    0 is the answer for a record the org cannot update (no such ID, a value
    it refuses); an object or field the org does not have is a fault and
    stops the render.
    """
    function = "UpdateSingleSalesforceObject"
    pairs = name_value_pairs((field_name, field_value, *more), function, 3, empty_names=False)
    if not id_to_update.strip():
        raise ScriptError(f"{function}() needs the ID of the record to update")
    org = _org(function)
    try:
        return 1 if org.update(_object_name(object_name, function), id_to_update, pairs) else 0
    except ScriptError as error:
        raise _faulted(function, error) from None


@ampscript_function("Sales and Service Cloud")
def RetrieveSalesforceJobSources(job_id: params.Text) -> Rowset:
    """The SourceID, SourceType and IsInclusionSource of each source of a Salesforce send (a campaign, report or list).

    Empty for a job with no sources recorded (choice).  The simulator reads
    them from ``Salesforce/job-sources.json``.
    """
    function = "RetrieveSalesforceJobSources"
    if not job_id.strip():
        raise ScriptError(f"{function}() needs the job ID of a Salesforce send")
    return Rowset(_org(function).job_sources(job_id.strip()))
