"""Site functions: landing pages (CloudPages, microsites) and the links to them.

Salesforce's "Site Functions" reference, with the landing-page functions it
lists under HTTP (HTTPRequestHeader, IsCHTMLBrowser, RedirectTo, WrapLongURL)
and the Web Analytics Tracking ones (WAT, WATP):
https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-sites/mc-ampscript-reference-sites.html
https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-http

The request a page renders for is `Context.request` (`ampscript.request`).
On a page an absent parameter or header is the empty string, not null
(https://sfmc.guide/engagement/ampscript/functions/requestparameter/).  An
email render has no request: its parameters and headers are null (choice:
sfmc.guide observed pages only), and Redirect() and IsCHTMLBrowser() are
errors.  Local stand-ins, all in the workspace's ``ampc.json``:

* ``"pages": {"314": "confirm.amp"}``: page IDs for CloudPagesURL() and
  MicrositeURL(); links go to ``<site>/<file without .amp>?qs=<encrypted>``;
* ``"site": {"url": "...", "key": "..."}``: the links' base URL (default:
  the page's own origin when rendering for a request, else
  http://127.0.0.1:8000, where `ampc serve` listens) and the qs key;
* ``"authenticated": {"MemberID": ..., ...}``: the user the Authenticated*()
  functions report (a `Request`'s own ``authenticated`` wins);
* ``"webAnalytics": {"Omniture": "cid=%%=WATP(1)=%%"}``: WAT() parameter sets.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from typing import Any
from urllib.parse import quote

from ..context import Context
from ..errors import ScriptError
from ..registry import ampscript_function
from ..rendering import current_context
from ..request import DEFAULT_SITE_URL, Request, encode_query_string, page_path, pages, site_settings
from ..values import case, params, to_int, to_text

__all__ = [
    "AuthenticatedEmployeeID",
    "AuthenticatedEmployeeNotificationAddress",
    "AuthenticatedEmployeeUserName",
    "AuthenticatedEnterpriseID",
    "AuthenticatedMemberID",
    "AuthenticatedMemberName",
    "CloudPagesURL",
    "HTTPRequestHeader",
    "IsCHTMLBrowser",
    "LiveContentMicrositeURL",
    "MicrositeURL",
    "QueryParameter",
    "Redirect",
    "RedirectTo",
    "RequestParameter",
    "WAT",
    "WATP",
    "WrapLongURL",
]


def _request(context: Context) -> Request | None:
    return context.request if isinstance(context.request, Request) else None


def _same_name(first: str, second: str) -> bool:
    return case.fold(first) == case.fold(second)


# ---------------------------------------------------------------- request parameters


def _parameter(name: str) -> str | None:
    """A request parameter on a page: its value, or the empty string when the request has none.

    An absent parameter is a real empty string, not null (Empty() is true,
    IsNull() false), and so is an empty or numeric name, which never matches
    (https://sfmc.guide/engagement/ampscript/functions/requestparameter/;
    https://sfmc.guide/engagement/differs-from-docs/#queryparameter-is-the-same-function-on-a-get).
    An email render has no request: null there, as before (choice: sfmc.guide
    observed pages only).
    """
    context = current_context()
    request = _request(context)
    if request is None:
        return None
    value = request.parameter(name, context.workspace) if name else None
    return "" if value is None else value


@ampscript_function("Utility")
def RequestParameter(parameter_name: params.Text) -> str | None:
    """A parameter of the page's request: from the CloudPagesURL() encrypted query string,
    the URL's query string, or a posted form field (in that order); "" if there is none.

    Names are case-insensitive; a parameter sent more than once (checkboxes)
    reads as its values joined by commas
    (https://sfmc.guide/engagement/differs-from-docs/#requestparameter-case-duplicates-and-raw-values).
    An absent parameter, an empty name and a numeric name give the empty
    string (`_parameter`).
    """
    return _parameter(parameter_name)


@ampscript_function("Utility")
def QueryParameter(parameter_name: params.Text) -> str | None:
    """Like RequestParameter(): the reference says the two behave the same way, and sfmc.guide
    observed them identical on a GET
    (https://sfmc.guide/engagement/differs-from-docs/#queryparameter-is-the-same-function-on-a-get)."""
    return _parameter(parameter_name)


@ampscript_function("HTTP")
def HTTPRequestHeader(header_name: params.Text) -> str | None:
    """A header of the page's request, by case-insensitive name; "" if the request lacks it, null in an email.

    The reference only promises the standard headers of RFC 7231 (User-Agent,
    Referer, Accept-Language, ...); Marketing Cloud returns custom headers
    too, and an absent header is the empty string
    (https://sfmc.guide/engagement/differs-from-docs/#httprequestheader-custom-headers-returned).
    """
    if not header_name:
        raise ScriptError("HTTPRequestHeader() needs a header name for argument 'headerName'")
    request = _request(current_context())
    if request is None:
        return None
    return request.headers.get(header_name, "")


# Compact HTML user agents: NTT DoCoMo's i-mode browsers and KDDI's au handsets
# (observed true on Marketing Cloud: https://sfmc.guide/engagement/ampscript/functions/ischtmlbrowser/),
# and (choice) the Japanese PHS and fixed-line terminals that spoke CHTML
# (ASTEL dot-i, DDI Pocket/WILLCOM H", PDX gateways, NTT L-mode).  The
# reference's examples: DoCoMo is true, desktop Chrome and Firefox are false.
_CHTML_AGENT = re.compile(r"^(?:DoCoMo/|KDDI-|ASTEL/|PDXGW/|L-mode/)|DDIPOCKET;|WILLCOM;", re.IGNORECASE)


@ampscript_function("Utility")
def IsCHTMLBrowser(user_agent: params.Text) -> bool:
    """True if the user agent is a Compact HTML (i-mode era feature phone) browser.

    Observed on Marketing Cloud
    (https://sfmc.guide/engagement/ampscript/functions/ischtmlbrowser/): the
    function is for landing pages only ("not valid in content ... only
    allowed in non sendable content"), so an email render is an error; an
    empty user agent aborts the page
    (https://sfmc.guide/engagement/differs-from-docs/#ischtmlbrowser-empty-user-agent-aborts),
    which is what a request without a User-Agent header passes in.
    """
    if _request(current_context()) is None:
        raise ScriptError(
            "IsCHTMLBrowser() works on landing pages only: it is not valid in sendable content (an email)",
            hint="render it as a page: ampc run PAGE.amp --header User-Agent=..., or ampc serve",
        )
    if not user_agent:
        raise ScriptError(
            "IsCHTMLBrowser() needs a user agent for argument 'userAgent', but the value is empty",
            hint="check it first: IF NOT Empty(@ua) THEN SET @chtml = IsCHTMLBrowser(@ua) ENDIF",
        )
    return _CHTML_AGENT.search(user_agent.strip()) is not None


# ---------------------------------------------------------------- redirects


@ampscript_function("Utility")
def Redirect(url: params.Text) -> None:
    """Answer the page's request with an HTTP 302 redirect to `url` (the reference's status).

    The script goes on running (its later writes still happen); the last
    Redirect() wins.  Only landing pages have a request to answer; an empty
    URL aborts (https://sfmc.guide/engagement/ampscript/functions/redirect/).
    """
    if not url:
        raise ScriptError("Redirect() needs a URL to redirect to")
    request = _request(current_context())
    if request is None:
        raise ScriptError(
            "Redirect() works on landing pages only: this render has no page request",
            hint="render it as a page: ampc run PAGE.amp --method GET (or --param ...), or ampc serve",
        )
    request.response.redirect(url, 302)


@ampscript_function("Utility", output_grows=True)
def RedirectTo(url: params.Text) -> str:
    """The URL itself, for an href: in an email it marks a URL held in a variable as a tracked link.

    It does not redirect the page (that is Redirect()); on a page it hands
    the value straight back (https://sfmc.guide/engagement/ampscript/functions/redirectto/),
    and locally there is no click tracking, so the link is the URL unchanged.
    """
    return url


# ---------------------------------------------------------------- links to pages


_RESERVED_PARAMETERS = ("PAGEID", "MID", "JID", "LID", "SID", "JSB", "URLID")
# The send context a link carries, so the landing page's personalization strings
# read the email's values: these strings and the subscriber's attributes.
_SEND_STRINGS = ("subscriberid", "jobid", "listid", "_JobSubscriberBatchID", "memberid")


def _site_url(context: Context) -> str:
    configured = site_settings(context.workspace).get("url")
    request = _request(context)
    base = configured or (request.origin if request is not None else DEFAULT_SITE_URL)
    return str(base).rstrip("/")


def _page_link(function: str, page_id: str, pairs: tuple[str, ...]) -> str:
    if not page_id:
        raise ScriptError(f"{function}() needs a page ID for argument 'pageId'")
    if len(pairs) % 2:
        raise ScriptError(
            f"{function}() needs a value for parameter {pairs[-1]!r}: pass names and values in pairs"
        )
    parameters: dict[str, str] = {}
    for index in range(0, len(pairs), 2):
        name = pairs[index]
        if not name:
            raise ScriptError(f"{function}() needs a name for parameter {index // 2 + 1}")
        if any(_same_name(name, reserved) for reserved in _RESERVED_PARAMETERS):
            raise ScriptError(
                f"{function}() cannot use the reserved parameter name {name!r}",
                hint="reserved: " + ", ".join(_RESERVED_PARAMETERS),
            )
        parameters[name] = pairs[index + 1]
    context = current_context()
    subscriber = {name: to_text(value) for name, value in context.subscriber.items()}
    for name in _SEND_STRINGS:
        if name not in context.subscriber:
            value = context.attribute(name, required=False)
            if value is not None:
                subscriber[name] = to_text(value)
    page = page_id.strip()
    known = pages(context.workspace)
    if known and page not in known:
        # Marketing Cloud knows every page of the account and aborts on an ID that
        # matches none (https://sfmc.guide/engagement/differs-from-docs/#cloudpagesurl-unknown-page-id-aborts).
        # A workspace that maps no pages cannot tell, so its links are always made (choice).
        raise ScriptError(
            f"{function}(): no page has the ID {page!r}; Marketing Cloud aborts the page",
            hint="the workspace's pages are the IDs of ampc.json's \"pages\": " + ", ".join(sorted(known)),
        )
    token = encode_query_string(
        context.workspace, {"page": page, "parameters": parameters, "subscriber": subscriber}
    )
    return f"{_site_url(context)}{page_path(context.workspace, page)}?qs={token}"


@ampscript_function("Utility", output_grows=True)
def CloudPagesURL(page_id: params.Text, *parameters: params.Text) -> str:
    """The URL of a CloudPage, its parameters (and the subscriber) in an encrypted ``qs`` query parameter.

    Pages are identified by the IDs of ampc.json's ``pages``; on the page,
    RequestParameter() and QueryParameter() read the parameters back.
    """
    return _page_link("CloudPagesURL", page_id, parameters)


@ampscript_function("Utility", output_grows=True)
def MicrositeURL(page_id: params.Text, *parameters: params.Text) -> str:
    """The URL of a (Classic Content) microsite page, built as CloudPagesURL() builds it.

    Both kinds of page are local .amp files here, served by `ampc serve`.
    """
    return _page_link("MicrositeURL", page_id, parameters)


@ampscript_function("Content", output_grows=True)
def LiveContentMicrositeURL(content_type: params.Text, external_key: params.Text) -> str:
    """The URL of the microsite page that shows a live content coupon.

    The reference accepts only the content type "coupon".  Live content is
    not simulated, so `ampc serve` answers this URL with 404.
    """
    if not _same_name(content_type.strip(), "coupon"):
        raise ScriptError(
            f"LiveContentMicrositeURL() accepts only the content type 'coupon', got {content_type!r}"
        )
    if not external_key:
        raise ScriptError("LiveContentMicrositeURL() needs the live content's external key")
    return f"{_site_url(current_context())}/ampc/live-content/coupon/{quote(external_key, safe='')}"


# WrapLongURL() links: the long URL behind each short link, kept in this
# process (as Marketing Cloud keeps them in its member database), so the pages
# `ampc serve` renders can follow them; the oldest are forgotten first.
_WRAP_THRESHOLD = 975
_WRAPPED: OrderedDict[str, str] = OrderedDict()
_WRAPPED_LIMIT = 10_000
_WRAPPED_LOCK = threading.Lock()


def _is_send(context: Context) -> bool:
    """Whether this render is a send: no page request, and ``_messagecontext`` SEND (not PREVIEW, VAWP...)."""
    if _request(context) is not None:
        return False
    return _same_name(to_text(context.attribute("_messagecontext", required=False)), "SEND")


@ampscript_function("Utility")
def WrapLongURL(url: params.Text) -> str:
    """In a send, a short link that redirects to `url` if it is over 975 characters; else `url` unchanged.

    Marketing Cloud shortens only when the message is sent: on a page and in
    an email preview the URL comes back unchanged, whatever its length
    (https://sfmc.guide/engagement/differs-from-docs/#wraplongurl-no-shortening-outside-a-send;
    https://sfmc.guide/engagement/ampscript/functions/wraplongurl/).  A local
    email render is a send unless its ``_messagecontext`` says otherwise
    (e.g. ``"_messagecontext": "PREVIEW"`` in the subscriber's attributes).
    """
    context = current_context()
    if len(url) <= _WRAP_THRESHOLD or not _is_send(context):
        return url
    link_id = hashlib.sha256(url.encode("utf-8")).hexdigest()[:20]
    with _WRAPPED_LOCK:
        _WRAPPED[link_id] = url
        _WRAPPED.move_to_end(link_id)
        while len(_WRAPPED) > _WRAPPED_LIMIT:
            _WRAPPED.popitem(last=False)
    return f"{_site_url(context)}/ampc/wrap/{link_id}"


def unwrap(link_id: str) -> str | None:
    """The long URL behind a WrapLongURL() link made in this process, or None."""
    with _WRAPPED_LOCK:
        return _WRAPPED.get(link_id)


# ---------------------------------------------------------------- web analytics tracking

_WATP_REFERENCE = re.compile(r"%%=\s*WATP\(\s*(\d+)\s*\)\s*=%%", re.IGNORECASE)


@ampscript_function("Utility", output_grows=True)
def WAT(parameter_set_key: params.Text, value: params.Text, *more_values: params.Text) -> str:
    """A Web Analytics Tracking parameter set, its ``%%=WATP(n)=%%`` references replaced by the values.

    Marketing Cloud keeps the sets in the Sender Profile's analytics
    settings; a workspace keeps them in ampc.json's ``webAnalytics``
    (key -> text).  A reference past the given values is replaced by nothing.
    """
    key = parameter_set_key
    sets = current_context().workspace.settings().get("webAnalytics", {})
    if not isinstance(sets, dict):
        raise ScriptError("ampc.json: 'webAnalytics' must map parameter set keys to their text")
    template = next((text for name, text in sets.items() if _same_name(name, key)), None)
    if template is None:
        raise ScriptError(
            f"WAT(): no web analytics parameter set {key!r}",
            hint='define it in ampc.json: {"webAnalytics": {"' + key + '": "cid=%%=WATP(1)=%%"}}',
        )
    values = [value, *more_values]

    def substitute(match: re.Match[str]) -> str:
        ordinal = to_int(match.group(1), "WAT", "ordinal")
        return values[ordinal - 1] if 1 <= ordinal <= len(values) else ""

    return _WATP_REFERENCE.sub(substitute, to_text(template))


@ampscript_function("Utility", output_grows=True)
def WATP(ordinal: params.Integer) -> None:
    """A placeholder for WAT()'s n-th value inside a parameter set; WAT() replaces it there.

    Called anywhere else there is no value to stand for, so it is null.
    """
    if ordinal < 1:
        raise ScriptError("WATP() needs an ordinal of 1 or more")
    return None


# ---------------------------------------------------------------- authenticated user


# What the Authenticated*() functions give on a CloudPage nobody signed in to:
# values of the account that owns the page, never empty.  Observed: a
# nine-digit employee ID, an email-shaped login and a different mailbox, the
# parent business unit's MID (shorter than the employee ID), the child's MID
# (as long as the employee ID) and the business unit's display name
# (https://sfmc.guide/engagement/differs-from-docs/#authenticatedemployeeid-value-without-a-session
# and the five sibling findings).  These are the simulated account's values
# (choice); ampc.json's "authenticated" and a request's own user replace them.
SIMULATED_ACCOUNT = {
    "EmployeeID": 700012345,
    "EmployeeUserName": "ampc.user@example.com",
    "EmployeeNotificationAddress": "ampc.notifications@example.com",
    "EnterpriseID": 10012345,
    "MemberID": 510012345,
    "MemberName": "ampc Simulated Account",
}


def _authenticated(name: str) -> Any:
    """The authenticated user's `name`: the request's, then ampc.json's ``authenticated``, then the account's.

    In an email (no page request) there is no authenticated user: null.
    """
    context = current_context()
    request = _request(context)
    settings = context.workspace.settings().get("authenticated", {})
    if not isinstance(settings, dict):
        raise ScriptError("ampc.json: 'authenticated' must be a JSON object, e.g. {\"MemberID\": 1234}")
    for source in (request.authenticated if request is not None else {}, settings):
        for key, value in source.items():
            if _same_name(str(key), name):
                return value
    return SIMULATED_ACCOUNT[name] if request is not None else None


@ampscript_function("Utility")
def AuthenticatedEmployeeID() -> Any:
    """The employee ID of the Marketing Cloud user on a Sender Authenticated Redirection microsite."""
    return _authenticated("EmployeeID")


@ampscript_function("Utility")
def AuthenticatedEmployeeNotificationAddress() -> Any:
    """The email address of the Marketing Cloud user on a Sender Authenticated Redirection microsite."""
    return _authenticated("EmployeeNotificationAddress")


@ampscript_function("Utility")
def AuthenticatedEmployeeUserName() -> Any:
    """The username of the Marketing Cloud user on a Sender Authenticated Redirection microsite."""
    return _authenticated("EmployeeUserName")


@ampscript_function("Utility")
def AuthenticatedEnterpriseID() -> Any:
    """The enterprise ID of the authenticated landing page user."""
    return _authenticated("EnterpriseID")


@ampscript_function("Utility")
def AuthenticatedMemberID() -> Any:
    """The member ID of the authenticated landing page user."""
    return _authenticated("MemberID")


@ampscript_function("Utility")
def AuthenticatedMemberName() -> Any:
    """The member name of the authenticated landing page user."""
    return _authenticated("MemberName")
