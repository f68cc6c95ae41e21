"""HTTP functions: HTTPGet, HTTPPost, HTTPPost2 and HTTPPostWithRetry.

Salesforce's reference, "HTTP" category:
https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-http/
(HTTPRequestHeader, which reads the page's own request, lives elsewhere.)

Requests go out through `ampscript.http_client`, and only to hosts the
workspace allows in ``ampc.json``::

    {"http": {"allow": ["api.example.com", "*.example.org", "127.0.0.1:8765"], "timeout": 10}}

Without an ``allow`` list nothing is called and the error says what to add
(the format, the ``timeout`` and ``charset`` settings: `ampscript.http_client`).

What the functions do, from the reference and, where it is silent or
contradicted by scripts that work in Marketing Cloud, chosen:

* Every function follows redirects (each hop must be allowed too), honours
  the charset of the response's Content-Type, and drops Host and
  Content-Length header pairs (Marketing Cloud sets those itself).  Header
  pairs and bodies are sent as given; the body is encoded in the charset
  that the content-type argument names, else UTF-8.
* An "error" is a request without an answer (refused, timed out, or over
  ``httpRequestSeconds``: connecting, redirects and the body, default 30
  seconds as Marketing Cloud's timeout) or an answer with status 400 or
  above (Marketing Cloud's .NET client raises "The remote server returned
  an error: (404) Not Found." for those).
* A response body over ``httpResponseBytes`` (default 10,000,000) stops the
  script with a `LimitExceeded` even where the script asked to continue on
  error (choice): it is a limit of this machine, not an answer of the remote
  server, like the allow-list's refusals.  A request still waiting when the
  render's own ``renderSeconds`` run out stops the render the same way.
  (Both limits: `ampscript.limits`; how they are enforced:
  `ampscript.http_client`.)
* HTTPGet(url, continueOnError, allowEmptyContent, @status): on error it
  stops the script unless continueOnError is true; then it returns an empty
  string and sets @status to -1 (no URL) or -2 (request error).  Empty
  content sets -3 (0: allowed), stops the script (1) or skips the
  subscriber (2, a `RaisedError` with ``skip_send``).
* HTTPPost(url, contentType, payload, @response, name, value, ...) returns
  the status code and puts the body in @response.  It has no
  continue-on-error argument and stops the script on error (HTTPPost2 exists
  to continue).
* HTTPPost2(url, contentType, payload, exceptionOnError, @response,
  @responseRowset, name, value, ...) returns the status code; @response gets
  the response body (the reference calls it the request's status, but
  working scripts parse the body out of it, e.g. an OAuth token) and
  @responseRowset the response headers as a rowset with fields Name and
  Value.  With exceptionOnError false an error answer still returns its
  status and body; a request without an answer returns -2 (the reference
  gives no code; -2 is HTTPGet's "HTTP request error") and empty outputs.
* HTTPPostWithRetry(url, contentType, payload, numRetries, reschedule,
  exceptionOnError, @response, @responseRowset, name, value, ...) is
  HTTPPost2 retried: up to numRetries (default 3) more attempts after a
  request without an answer, a 5xx or a 429, the first at once and the
  next ones 1 to 4 seconds after the previous failure.  The reference's
  "reschedule" makes Marketing Cloud pause the send and try again 15
  minutes later; a local render cannot, so it stops with an error that says
  so.  exceptionOnError defaults to false.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Sequence
from typing import Any

from .. import http_client
from ..errors import RaisedError, ScriptError
from ..http_client import HttpSettings, Reply, RequestFailed, charset_of
from ..registry import ampscript_function
from ..rendering import current_budget, current_context
from ..values import Row, Rowset, case, params
from ..variables import Ref

__all__ = ["HTTPGet", "HTTPPost", "HTTPPost2", "HTTPPostWithRetry"]

MISSING_URL = -1
REQUEST_ERROR = -2
EMPTY_CONTENT = -3
DEFAULT_RETRIES = 3
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")  # an HTTP header name (RFC 9110 token)
# "You can't set the host and content-length headers"
_MANAGED_HEADERS = {case.fold("host"), case.fold("content-length")}


def _set(cell: Ref | None, value: Any) -> None:
    if cell is not None:
        cell.value = value


def _settings() -> HttpSettings:
    return HttpSettings.from_workspace(current_context().workspace)


def _header_pairs(values: Sequence[str], function: str) -> list[tuple[str, str]]:
    if len(values) % 2:
        raise ScriptError(f"{function}() takes header names and values in pairs; {values[-1]!r} has no value")
    pairs = []
    for name, value in zip(values[::2], values[1::2]):
        name_text, value_text = name.strip(), value
        if not _TOKEN.match(name_text):
            raise ScriptError(f"{function}(): {name_text!r} is not a valid HTTP header name")
        if any(char in value_text for char in "\r\n\0"):
            raise ScriptError(f"{function}(): the value of header {name_text!r} contains a line break")
        if not value_text.isascii():
            raise ScriptError(
                f"{function}(): the value of header {name_text!r} has non-ASCII characters",
                hint="encode it first, e.g. with URLEncode() or Base64Encode()",
            )
        if case.fold(name_text) not in _MANAGED_HEADERS:
            pairs.append((name_text, value_text))
    return pairs


def _failure(function: str, url: str, detail: str, hint: str | None = None) -> ScriptError:
    return ScriptError(f"{function}() failed for {url!r}: {detail}", hint=hint)


def _status_detail(reply: Reply) -> str:
    return f"the server answered {reply.status} {reply.reason}".rstrip()


def _headers_rowset(reply: Reply | None) -> Rowset:
    if reply is None:
        return Rowset()
    return Rowset(Row({"Name": name, "Value": value}) for name, value in reply.headers)


def _post(function: str, url: str, content_type: str, payload: str, header_values: Sequence[str]) -> Reply:
    """One POST; raises RequestFailed when there is no answer."""
    content_type_text = content_type.strip()
    headers = [("Content-Type", content_type_text)] if content_type_text else []
    headers += _header_pairs(header_values, function)
    body = payload.encode(charset_of(content_type_text) or "utf-8", errors="replace")  # "?" as .NET does
    return http_client.send("POST", url, _settings(), function, headers=headers, body=body)


def _url(value: str, function: str) -> str:
    url = value.strip()
    if not url:
        raise ScriptError(f"{function}() needs a URL")
    return url


@ampscript_function("HTTP")
def HTTPGet(
    url: params.Text,
    bool_continue_on_error: params.Boolean = False,
    enum_allow_empty_content: params.Integer = 0,
    status: Ref | None = None,
) -> str:
    """The content at a URL (GET); see the module docstring for errors and @status."""
    # https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-http/mc-ampscript-reference-http-get.html
    keep_going = bool_continue_on_error
    empty_mode = enum_allow_empty_content
    if empty_mode not in (0, 1, 2):
        raise ScriptError(f"HTTPGet() expects 0, 1 or 2 for enumAllowEmptyContent, got {empty_mode}")
    address = url.strip()

    def fail(code: int, detail: str, hint: str | None = None) -> str:
        if not keep_going:
            raise _failure("HTTPGet", address, detail, hint)
        _set(status, code)
        return ""

    if not address:
        return fail(MISSING_URL, "no URL given")
    try:
        reply = http_client.send("GET", address, _settings(), "HTTPGet")
    except RequestFailed as error:
        return fail(REQUEST_ERROR, str(error), error.hint)
    if not reply.ok:
        return fail(REQUEST_ERROR, _status_detail(reply))
    if reply.body == "":
        if empty_mode == 1:
            raise _failure("HTTPGet", address, "the response is empty (enumAllowEmptyContent 1)")
        if empty_mode == 2:
            raise RaisedError(
                f"HTTPGet(): {address!r} returned no content; the subscriber is skipped", skip_send=True
            )
        _set(status, EMPTY_CONTENT)
        return ""
    _set(status, 0)
    return reply.body


@ampscript_function("HTTP")
def HTTPPost(
    url: params.Text,
    content_type: params.Text,
    payload: params.Text,
    response: Ref | None = None,
    *headers: params.Text,
) -> int:
    """POST content; returns the status code, the body goes to @response. Stops the script on error."""
    # https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-http/mc-ampscript-reference-http-post.html
    address = _url(url, "HTTPPost")
    try:
        reply = _post("HTTPPost", address, content_type, payload, headers)
    except RequestFailed as error:
        raise _failure("HTTPPost", address, str(error), error.hint) from None
    if not reply.ok:
        raise _failure("HTTPPost", address, _status_detail(reply))
    _set(response, reply.body)
    return reply.status


def _finish(
    function: str,
    address: str,
    reply: Reply | None,
    problem: str | None,
    raise_on_error: bool,
    response: Ref | None,
    response_headers: Ref | None,
    hint: str | None = None,
) -> int:
    """Fill HTTPPost2-style outputs and return the status (or raise, as the script asked)."""
    if problem is not None and raise_on_error:
        raise _failure(function, address, problem, hint)
    _set(response, reply.body if reply is not None else "")
    _set(response_headers, _headers_rowset(reply))
    return reply.status if reply is not None else REQUEST_ERROR


@ampscript_function("HTTP")
def HTTPPost2(
    url: params.Text,
    content_type: params.Text,
    payload: params.Text,
    bool_exception_on_error: params.Boolean,
    response: Ref | None,
    response_rowset: Ref | None,
    *headers: params.Text,
) -> int:
    """POST content; returns the status code, the body goes to @response, the headers to @responseRowset."""
    # https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-http/mc-ampscript-reference-http-post2.html
    raise_on_error = bool_exception_on_error
    address = _url(url, "HTTPPost2")
    try:
        reply = _post("HTTPPost2", address, content_type, payload, headers)
    except RequestFailed as error:
        return _finish(
            "HTTPPost2", address, None, str(error), raise_on_error, response, response_rowset, error.hint
        )
    problem = None if reply.ok else _status_detail(reply)
    return _finish("HTTPPost2", address, reply, problem, raise_on_error, response, response_rowset)


def _retry_pause(retry: int) -> None:
    """Wait before retry number `retry` (1-based): the first at once, later ones 1 to 4 seconds."""
    if retry > 1:  # never past the render's deadline: the next attempt would stop the render anyway
        time.sleep(min(random.uniform(1.0, 4.0), current_budget().seconds_left()))


def _worth_retrying(reply: Reply | None) -> bool:
    # No answer, a server error or "too many requests" may pass; other client errors will not.
    return reply is None or reply.status >= 500 or reply.status == 429


@ampscript_function("HTTP")
def HTTPPostWithRetry(
    url: params.Text,
    content_type: params.Text,
    payload: params.Text,
    num_retries: params.Integer = DEFAULT_RETRIES,
    bool_reschedule: params.Boolean = False,
    bool_return_exception_on_error: params.Boolean = False,
    response: Ref | None = None,
    response_rowset: Ref | None = None,
    *headers: params.Text,
) -> int:
    """HTTPPost2 with retries after a failure; returns the last status code."""
    # https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-http/mc-ampscript-reference-http-post-with-retry.html
    retries = num_retries
    if retries < 0:
        raise ScriptError(f"HTTPPostWithRetry() expects numRetries of 0 or more, got {retries}")
    wants_reschedule = bool_reschedule
    raise_on_error = bool_return_exception_on_error
    address = _url(url, "HTTPPostWithRetry")
    attempts = retries + 1
    for attempt in range(1, attempts + 1):
        if attempt > 1:
            _retry_pause(attempt - 1)
        reply, problem, hint = None, None, None
        try:
            reply = _post("HTTPPostWithRetry", address, content_type, payload, headers)
            problem = None if reply.ok else _status_detail(reply)
        except RequestFailed as error:
            problem, hint = str(error), error.hint
        if problem is None or not _worth_retrying(reply):
            break
    if problem is not None and wants_reschedule:
        raise _failure(
            "HTTPPostWithRetry",
            address,
            f"{problem} after {attempt} attempt(s); Marketing Cloud would pause the send and try again in "
            "15 minutes (boolReschedule), which a local render cannot",
        )
    if problem is not None and reply is None:
        problem = f"{problem} after {attempt} attempt(s)"
    return _finish(
        "HTTPPostWithRetry", address, reply, problem, raise_on_error, response, response_rowset, hint
    )


# ---- Content syndication: %%httpget "URL"%% and %%before; httpget "URL"%% --------------

_URL_ATTRIBUTE = re.compile(r"\[([^\]\r\n]+)\]")


def syndicated_content(url: str, before: bool) -> str:
    """The body at `url`, for the send-time content retrieval strings.

    Email Studio's content syndication: ``%%httpget "URL"%%`` inserts what
    the URL returns for each subscriber; ``%%before; httpget "URL"%%``
    fetches it before the email is built, so personalization strings and
    AMPscript in the fetched content run as part of the email.  A
    ``[Attribute]`` in the URL is replaced with the subscriber's value
    (https://help.salesforce.com/s/articleView?id=mktg.mc_es_content_syndication_in_api.htm).
    The request goes through the same allow-list, limits and errors as
    HTTPGet(); a fetch that is not allowed or fails stops the render (as
    HTTPGet() without continue-on-error).  Choice: values put into the URL
    are inserted as they are, not URL-encoded (the page says "substitutes").
    """
    context = current_context()
    address = _URL_ATTRIBUTE.sub(lambda match: str(context.attribute(match.group(1))), url).strip()
    if not address:
        raise ScriptError("httpget needs a URL", hint='write %%httpget "https://..."%%')
    try:
        reply = http_client.send("GET", address, _settings(), "httpget")
    except RequestFailed as error:
        raise _failure("httpget", address, str(error), error.hint) from None
    if not reply.ok:
        raise _failure("httpget", address, _status_detail(reply))
    if not before or not reply.body:
        return reply.body
    from .content import render_content

    return render_content(reply.body, address, "httpget")
