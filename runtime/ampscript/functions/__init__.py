"""Every AMPscript function the runtime implements, by canonical name.

One module per category of Salesforce's AMPscript reference, so a function
is found where the reference lists it; each module's ``__all__`` lists its
functions.  Generated code imports from here:
``from ampscript.functions import Concat, InvokePerform``.

A category is imported when one of its functions is first asked for (PEP
562's module ``__getattr__``), so that a compiled module loads only the
categories it calls, not the libraries the others need.  `CATEGORIES` says
where each function is without importing anything; tests/test_startup.py
checks it against the modules' ``__all__``.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from ..lazy import import_module, lazy_exports

CATEGORIES: dict[str, tuple[str, ...]] = {
    "api": (
        "AddObjectArrayItem", "CreateObject", "InvokeCreate", "InvokeDelete", "InvokeExecute",
        "InvokePerform", "InvokeRetrieve", "InvokeUpdate", "SetObjectProperty",
    ),
    "content": (
        "BeginAssetBlock", "ContentArea", "ContentAreaByName", "ContentBlockByID", "ContentBlockByKey",
        "ContentBlockByName", "ContentImageByID", "ContentImageByKey", "EndAssetBlock", "Image",
        "TreatAsContent", "TreatAsContentArea",
    ),
    "content_data": (
        "AttachFile", "BarCodeURL", "BeginImpressionRegion", "BuildOptionList", "BuildRowSetFromJson",
        "BuildRowSetFromString", "BuildRowSetFromXml", "EndImpressionRegion", "GetPortfolioItem",
        "TransformXML",
    ),
    "data_extension": (
        "ClaimRow", "ClaimRowValue", "DataExtensionRowCount", "DeleteDE", "DeleteData", "ExecuteFilter",
        "ExecuteFilterOrderedRows", "Field", "InsertDE", "InsertData", "Lookup", "LookupOrderedRows",
        "LookupOrderedRowsCS", "LookupRows", "LookupRowsCS", "Row", "RowCount", "UpdateDE", "UpdateData",
        "UpsertDE", "UpsertData",
    ),
    "date_time": (
        "DateAdd", "DateDiff", "DateParse", "DatePart", "FormatDate", "GetSendTime",
        "LocalDateToSystemDate", "Now", "StringToDate", "SystemDateToLocalDate",
    ),
    "dynamics": (
        "AddMscrmListMember", "CreateMscrmRecord", "DescribeMscrmEntities", "DescribeMscrmEntityAttributes",
        "RetrieveMscrmRecords", "RetrieveMscrmRecordsFetchXml", "SetStateMscrmRecord", "UpdateMscrmRecords",
        "UpsertMscrmRecord",
    ),
    "encoding": (
        "Base64Decode", "Base64Encode", "DecryptSymmetric", "EncryptSymmetric", "GetJWT", "GetJWTByKeyName",
        "MD5", "SHA1", "SHA256", "SHA512", "StringToHex", "URLEncode",
    ),
    "http": ("HTTPGet", "HTTPPost", "HTTPPost2", "HTTPPostWithRetry"),
    "math": ("Add", "Divide", "Mod", "Multiply", "Random", "Subtract"),
    "mobile_connect": (
        "CreateSmsConversation", "EndSmsConversation", "MMS_Content_URL", "Msg", "SetSmsConversationNextKeyword",
        "UpsertContact",
    ),
    "salesforce": (
        "CreateSalesforceObject", "LongSFID", "RetrieveSalesforceJobSources", "RetrieveSalesforceObjects",
        "UpdateSingleSalesforceObject",
    ),
    "sites": (
        "AuthenticatedEmployeeID", "AuthenticatedEmployeeNotificationAddress",
        "AuthenticatedEmployeeUserName", "AuthenticatedEnterpriseID", "AuthenticatedMemberID",
        "AuthenticatedMemberName", "CloudPagesURL", "HTTPRequestHeader", "IsCHTMLBrowser",
        "LiveContentMicrositeURL", "MicrositeURL", "QueryParameter", "Redirect", "RedirectTo",
        "RequestParameter", "WAT", "WATP", "WrapLongURL",
    ),
    "social": ("GetPublishedSocialContent", "GetSocialPublishURL", "GetSocialPublishURLByName"),
    "string": (
        "Char", "Concat", "IndexOf", "Length", "Lowercase", "ProperCase", "RegExMatch", "Replace",
        "ReplaceList", "Substring", "Trim", "Uppercase",
    ),
    "utility": (
        "AttributeValue", "Domain", "Empty", "Format", "FormatCurrency", "FormatNumber", "GUID", "IIf",
        "IsEmailAddress", "IsNull", "IsNullDefault", "IsPhoneNumber", "Output", "OutputLine", "RaiseError",
        "V",
    ),
}

_CATEGORY_OF = {name: category for category, names in CATEGORIES.items() for name in names}
_CATEGORY_OF_FOLDED = {name.lower(): category for name, category in _CATEGORY_OF.items()}

__all__ = sorted(_CATEGORY_OF)

_exported_function, _exported_names = lazy_exports(globals(), _CATEGORY_OF)


def category_module(category: str) -> ModuleType:
    """The category's module (``"string"`` -> `ampscript.functions.string`), importing it if need be."""
    return import_module(f"{__name__}.{category}")


def load(name: str) -> None:
    """Import the category that defines the function called `name` in any case; nothing if none does."""
    category = _CATEGORY_OF_FOLDED.get(name.lower())
    if category is not None:
        category_module(category)


def load_all() -> None:
    """Import every category, so that all functions are registered (`ampscript.registry.all_functions`)."""
    for category in CATEGORIES:
        category_module(category)


def __getattr__(name: str) -> Any:
    if name in CATEGORIES:  # `ampscript.functions.content` before anything imported it
        return category_module(name)
    return _exported_function(name)


def __dir__() -> list[str]:
    return sorted(set(_exported_names()) | set(CATEGORIES))
