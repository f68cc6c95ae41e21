"""Every AMPscript function the runtime implements, by canonical name.

One module per category of Salesforce's AMPscript reference, so a function
is found where the reference lists it; each module's ``__all__`` lists its
functions.  Generated code imports from here:
``from ampscript.functions import Concat, InvokePerform``.
"""

from .api import *  # noqa: F403
from .content import *  # noqa: F403
from .content_data import *  # noqa: F403
from .data_extension import *  # noqa: F403
from .date_time import *  # noqa: F403
from .encoding import *  # noqa: F403
from .http import *  # noqa: F403
from .math import *  # noqa: F403
from .sites import *  # noqa: F403
from .string import *  # noqa: F403
from .utility import *  # noqa: F403
from . import api, content, content_data, data_extension, date_time, encoding, http, math, sites, string, utility

__all__ = sorted(
    name
    for module in (api, content, content_data, data_extension, date_time, encoding, http, math, sites, string, utility)
    for name in module.__all__
)
