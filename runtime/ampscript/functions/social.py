"""Social Forward: links that share a content region on a social network, and the region's published content.

https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-social/mc-ampscript-reference-social.html

The workspace's ``Social/social.json`` (optional) describes what Marketing
Cloud would know of the account's Social Forward set-up::

    {
      "publishUrl": "https://social.example.com/publish",
      "regions": {
        "Shared content region 1": {"id": "4711", "content": "<p>Spring sale: 20% off</p>"}
      }
    }

* ``publishUrl``: the page a share link opens (default
  ``https://pub.exacttarget.com/social/publish``; choice: Marketing Cloud's
  own host is the account's and not documented).
* ``regions``: content regions by name, each with the ID
  GetPublishedSocialContent() takes and the content it returns.

A share link is ``publishUrl`` with the query ``network`` (the network's
name), ``country`` (ByName only), ``region`` (the region's name), then the
script's extra name/value pairs, all URL-encoded (choice: the reference
documents what the link carries, not its layout).  The region's name must
not be empty, and the network must be one the reference lists: either
stops the page on Marketing Cloud (sfmc.guide's GetSocialPublishURL and
GetSocialPublishURLByName test scripts, branches empty and bad).  A network
code may be given as a number or as text ("a numeric-string code is
accepted the same as the number", same scripts, branch str).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from ..errors import ScriptError
from ..registry import ampscript_function
from ..rendering import current_context
from ..values import params, to_text
from ..values.case import fold
from ..function_arguments import name_value_pairs

__all__ = ["GetPublishedSocialContent", "GetSocialPublishURL", "GetSocialPublishURLByName"]

CONFIG = ("Social", "social.json")
DEFAULT_PUBLISH_URL = "https://pub.exacttarget.com/social/publish"

# The reference's number codes.  Its table leaves the names of 1, 6, 9 and 11
# blank; 1 is Facebook (the newer page's table), and 6, 9 and 11 are taken to be
# the other networks its list names, Twitter, LinkedIn and Google (choice).
NETWORK_CODES = {
    1: "Facebook", 2: "Del.icio.us", 3: "Digg", 4: "MySpace", 5: "StumbleUpon", 6: "Twitter", 7: "Microsoft",
    8: "Yahoo", 9: "LinkedIn", 10: "ShareThis", 11: "Google", 15: "Google+",
}
_NETWORKS_BY_NAME = {fold(name): name for name in NETWORK_CODES.values()}


def _config() -> dict[str, Any]:
    workspace = current_context().workspace
    if not workspace.is_file(*CONFIG):
        return {}
    data = workspace.read_json(*CONFIG)
    if not isinstance(data, dict) or not isinstance(data.get("regions", {}), dict):
        raise ScriptError(f'{workspace.path(*CONFIG)}: expected {{"publishUrl": ..., "regions": {{"<name>": {{...}}}}}}')
    return data


def _pairs(values: tuple, function: str, first_position: int) -> list[tuple[str, str]]:
    return [(name, to_text(value)) for name, value in name_value_pairs(values, function, first_position, noun="parameter")]


def _link(function: str, network: str, country: str | None, region: str, extra: tuple) -> str:
    first_extra = 3 if country is None else 4
    if not region.strip():
        raise ScriptError(f"{function}() needs the name of the content region to share")
    query = [("network", network)]
    if country is not None:
        query.append(("country", country))
    query.append(("region", region))
    query += _pairs(extra, function, first_extra)
    base = to_text(_config().get("publishUrl") or DEFAULT_PUBLISH_URL)
    return f"{base}{'&' if '?' in base else '?'}{urlencode(query)}"


@ampscript_function("Social", output_grows=True)
def GetSocialPublishURL(social_network_code: params.Text, content_region: params.Text, *more: params.Pairs) -> str:
    """A link that shares the content region on the network with this number code (1 Facebook, 10 ShareThis, ...)."""
    code = social_network_code.strip()
    network = NETWORK_CODES.get(int(code)) if code.isdigit() else None
    if network is None:
        by_name = _NETWORKS_BY_NAME.get(fold(code))  # a name where the code goes, as scripts in the wild write it
        if by_name is None:
            known = ", ".join(f"{number} {name}" for number, name in NETWORK_CODES.items())
            raise ScriptError(f"GetSocialPublishURL(): {social_network_code!r} is not a social network code ({known})")
        network = by_name
    return _link("GetSocialPublishURL", network, None, content_region, more)


@ampscript_function("Social", output_grows=True)
def GetSocialPublishURLByName(
    social_network_name: params.Text, country_code: params.Text, content_region: params.Text, *more: params.Pairs
) -> str:
    """A link that shares the content region on the named network, for an ISO country code."""
    network = _NETWORKS_BY_NAME.get(fold(social_network_name.strip()))
    if network is None:
        raise ScriptError(
            f"GetSocialPublishURLByName(): {social_network_name!r} is not a social network "
            f"({', '.join(NETWORK_CODES.values())})"
        )
    return _link("GetSocialPublishURLByName", network, country_code.strip(), content_region, more)


@ampscript_function("Social")
def GetPublishedSocialContent(region_id: params.Text) -> str:
    """The published content of the content region with this ID (from ``Social/social.json``).

    Marketing Cloud allows it on social sharing and landing pages only
    (``ampc run --context email`` rejects it, `ampscript.contexts`).
    """
    wanted = region_id.strip()
    if not wanted:
        raise ScriptError("GetPublishedSocialContent() needs the ID of a content region")
    for region in _config().get("regions", {}).values():
        if isinstance(region, dict) and to_text(region.get("id", "")).strip() == wanted:
            return to_text(region.get("content", ""))
    raise ScriptError(
        f"GetPublishedSocialContent(): no content region has the ID {wanted!r}",
        hint="content regions and their IDs are in the workspace's Social/social.json (see ampscript/functions/social.py)",
    )
