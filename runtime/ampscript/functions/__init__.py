"""Every AMPscript function the runtime implements, by canonical name.

One module per category of Salesforce's AMPscript reference, so a function
is found where the reference lists it.  Generated code imports from here:
``from ampscript.functions import Concat, InvokePerform``.
"""

from .api import (
    AddObjectArrayItem,
    CreateObject,
    InvokeExecute,
    InvokePerform,
    InvokeRetrieve,
    SetObjectProperty,
)
from .data_extension import Field, Row, RowCount
from .string import Concat
from .utility import Empty, Output, OutputLine, V

__all__ = [
    "AddObjectArrayItem",
    "Concat",
    "CreateObject",
    "Empty",
    "Field",
    "InvokeExecute",
    "InvokePerform",
    "InvokeRetrieve",
    "Output",
    "OutputLine",
    "Row",
    "RowCount",
    "SetObjectProperty",
    "V",
]
