"""Marketing Cloud API functions: build API objects and send them to the backend.

Status codes and messages go to the script, not to Python exceptions:
Invoke*() return the status code and fill their out-parameters (status
message, request ID) like Marketing Cloud does.
"""

from __future__ import annotations

from typing import Any

from ..api_objects import ApiObject
from ..capabilities import ApiObjects
from ..errors import ScriptError
from ..registry import ampscript_function
from ..rendering import current_context
from ..values import Rowset, params
from ..values.case import fold
from ..variables import Ref

__all__ = [
    "AddObjectArrayItem",
    "CreateObject",
    "InvokeCreate",
    "InvokeDelete",
    "InvokeExecute",
    "InvokePerform",
    "InvokeRetrieve",
    "InvokeUpdate",
    "SetObjectProperty",
]

def _set(cell: Ref | None, value: Any) -> None:
    if cell is not None:
        cell.value = value


@ampscript_function("Marketing Cloud API")
def CreateObject(object_type: params.Text) -> ApiObject:
    """A new, empty API object of a WSDL type (RetrieveRequest, Subscriber, ...)."""
    return ApiObject(object_type.strip())


@ampscript_function("Marketing Cloud API")
def SetObjectProperty(api_object: params.ApiObjectValue, property_name: params.Text, value: params.Value) -> None:
    """Set a property of an API object (a value or another API object)."""
    api_object.set(property_name, value)


@ampscript_function("Marketing Cloud API")
def AddObjectArrayItem(api_object: params.ApiObjectValue, property_name: params.Text, value: params.Value) -> None:
    """Append a value or API object to an array property (Properties, Value, Attributes, ...)."""
    api_object.add(property_name, value)


def _options(value: Any, function: str) -> ApiObject | None:
    if value is None or value == "":
        return None
    return params.convert(params.ApiObjectValue, value, function, "options")


def _change(
    method: str, target: ApiObject, status_message: Ref | None, error_code: Ref | None, options: Any
) -> str:
    function = f"Invoke{method.capitalize()}"
    api = current_context().capability(ApiObjects, function)
    call = {"create": api.create, "update": api.update, "delete": api.delete}[method]
    result = call(target, _options(options, function))
    _set(status_message, result.message)
    _set(error_code, result.error_code)
    return result.status


@ampscript_function("Marketing Cloud API")
def InvokeCreate(
    api_object: params.ApiObjectValue,
    status_message: Ref | None = None,
    error_code: Ref | None = None,
    create_options: params.Value = None,
) -> str:
    """Create an object (Subscriber, TriggeredSend, ...); returns the status code."""
    return _change("create", api_object, status_message, error_code, create_options)


@ampscript_function("Marketing Cloud API")
def InvokeUpdate(
    api_object: params.ApiObjectValue,
    status_message: Ref | None = None,
    error_code: Ref | None = None,
    update_options: params.Value = None,
) -> str:
    """Update an object; with SaveAction UpdateAdd it is created if missing. Returns the status code."""
    return _change("update", api_object, status_message, error_code, update_options)


@ampscript_function("Marketing Cloud API")
def InvokeDelete(
    api_object: params.ApiObjectValue,
    status_message: Ref | None = None,
    error_code: Ref | None = None,
    delete_options: params.Value = None,
) -> str:
    """Delete the object identified by its ID, key or name; returns the status code."""
    return _change("delete", api_object, status_message, error_code, delete_options)


@ampscript_function("Marketing Cloud API")
def InvokeRetrieve(
    retrieve_request: params.ApiObjectValue, status: Ref | None = None, request_id: Ref | None = None
) -> Rowset:
    """Run a RetrieveRequest; returns the matching objects as a rowset."""
    request = retrieve_request
    if fold(request.object_type) != "RETRIEVEREQUEST":
        raise ScriptError(f"InvokeRetrieve() needs a RetrieveRequest object, got a {request.object_type}")
    result = current_context().capability(ApiObjects, "InvokeRetrieve").retrieve(request)
    _set(status, result.status)
    _set(request_id, result.request_id)
    return result.rows


@ampscript_function("Marketing Cloud API")
def InvokePerform(api_object: params.ApiObjectValue, action: params.Text, status_message: Ref | None = None) -> str:
    """Perform an action (``start``, ``Refresh``, ...) on an object; returns the status code."""
    result = current_context().capability(ApiObjects, "InvokePerform").perform(api_object, action)
    _set(status_message, result.message)
    return result.status


@ampscript_function("Marketing Cloud API")
def InvokeExecute(
    api_object: params.ApiObjectValue, status_message: Ref | None = None, request_id: Ref | None = None
) -> str:
    """Execute a request (LogUnsubEvent, Group Refresh, ...); returns the status code."""
    result = current_context().capability(ApiObjects, "InvokeExecute").execute(api_object)
    _set(status_message, result.message)
    _set(request_id, result.request_id)
    return result.status
