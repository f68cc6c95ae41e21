"""The Sales and Service Cloud functions of Salesforce's AMPscript reference.

https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-salesforce/mc-ampscript-reference-salesforce.html

So far LongSFID; the functions that reach a Salesforce org (issue 13:
CreateSalesforceObject, RetrieveSalesforceObjects, ...) need the org
simulator and connector and are not here yet.
"""

from __future__ import annotations

from ..registry import ampscript_function
from ..values import params

__all__ = ["LongSFID"]

# The 32 characters of an 18-character ID's suffix: one per 5-bit pattern of upper-case letters.
_SUFFIX_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


@ampscript_function("Sales and Service Cloud")
def LongSFID(short_sfid: params.Text) -> str:
    """The 18-character form of a 15-character Salesforce ID: the ID and its three-character case suffix.

    ``LongSFID("0036000000QKv5T")`` is ``0036000000QKv5TAAT`` (Salesforce's
    reference).  Each suffix character encodes which of five characters of
    the ID are upper-case letters A-Z (bit 0 for the first), as an index
    into A-Z0-5.  Text of any other length is given back unchanged, with no
    error: an 18-character ID stays as it is, and so do "ABC" and ""
    (sfmc.guide's LongSFID test script,
    https://sfmc.guide/engagement/ampscript/functions/longsfid/).  Choice:
    any 15 characters get a suffix, whether or not they are a valid ID, as
    the computation itself does not care.
    """
    if len(short_sfid) != 15:
        return short_sfid
    suffix = []
    for start in range(0, 15, 5):
        chunk = short_sfid[start:start + 5]
        pattern = sum(1 << bit for bit, character in enumerate(chunk) if "A" <= character <= "Z")
        suffix.append(_SUFFIX_CHARACTERS[pattern])
    return short_sfid + "".join(suffix)
