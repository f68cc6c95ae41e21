"""The transport behind the HTTP functions: the workspace's allow-list, httpx, charsets.

A local render must never call an arbitrary host by surprise, so every
request (and every redirect it follows) goes to a host the workspace allows
in ``ampc.json``::

    {"http": {"allow": ["api.example.com", "*.example.org", "127.0.0.1:8765"],
              "timeout": 10, "charset": "utf-8"}}

* ``allow``: hosts the HTTP functions may call.  ``api.example.com`` is that
  host exactly; ``*.example.org`` any subdomain of example.org (not
  example.org itself); ``*`` any host.  Marketing Cloud only calls http on
  port 80 and https on port 443 ("Nonstandard port assignments cause this
  function to fail",
  https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-http/mc-ampscript-reference-http-get.html),
  so an entry without a port allows just those; ``host:port`` allows that
  port too (a local test server).  Without an allow-list nothing may be
  called, and the error says what to add.
* ``timeout``: seconds for connecting and for each read and write (default
  30, the timeout Marketing Cloud documents for its HTTP functions,
  https://developer.salesforce.com/docs/marketing/marketing-cloud/guide/ssjs_platformContentSyndicationHTTPGet.html).
* ``charset``: how response bodies without a charset in their Content-Type
  are decoded.  Marketing Cloud honours the response's charset; without one,
  older accounts assume Windows-1252 and recent ones UTF-8 (the HttpGet()
  page above), so the default is ``utf-8`` and ``windows-1252`` imitates an
  older account.

Only http and https URLs are accepted.  Refusals are `ScriptError`s even
where a script asked to continue on error: they are about this machine's
settings, not about the remote server.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from email.message import Message
from urllib.parse import urlsplit

import httpx

from .errors import ScriptError
from .workspace import Workspace

DEFAULT_TIMEOUT = 30.0
DEFAULT_CHARSET = "utf-8"
# Marketing Cloud runs on .NET, whose HttpWebRequest follows up to 50 redirects.
MAX_REDIRECTS = 50
_STANDARD_PORTS = {"http": 80, "https": 443}


class RequestFailed(Exception):
    """The request got no HTTP answer (refused, unreachable, timed out, too many redirects)."""


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, headers in the order received, and the decoded body."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 400


@dataclass(frozen=True)
class _Rule:
    host: str  # "api.example.com", "*.example.org" or "*"
    port: int | None  # None: the standard port of the URL's scheme

    def matches(self, scheme: str, host: str, port: int) -> bool:
        if self.host == "*":
            host_ok = True
        elif self.host.startswith("*."):
            host_ok = host.endswith(self.host[1:])
        else:
            host_ok = host == self.host
        wanted = self.port if self.port is not None else _STANDARD_PORTS[scheme]
        return host_ok and port == wanted


@dataclass(frozen=True)
class HttpSettings:
    allow: tuple[_Rule, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    charset: str = DEFAULT_CHARSET

    @classmethod
    def from_workspace(cls, workspace: Workspace) -> HttpSettings:
        where = f"{workspace.path('ampc.json')}: \"http\""
        section = workspace.settings().get("http", {})
        if not isinstance(section, dict):
            raise ScriptError(f'{where} must be an object such as {{"allow": ["api.example.com"]}}')
        allow = section.get("allow", [])
        if not isinstance(allow, list) or not all(isinstance(entry, str) for entry in allow):
            raise ScriptError(f"{where}.allow must be a list of host names")
        timeout = section.get("timeout", DEFAULT_TIMEOUT)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ScriptError(f"{where}.timeout must be a number of seconds above 0, got {timeout!r}")
        charset = section.get("charset", DEFAULT_CHARSET)
        if not isinstance(charset, str) or _codec(charset) is None:
            raise ScriptError(f"{where}.charset is not a known character set: {charset!r}")
        return cls(tuple(_rule(entry, where) for entry in allow), float(timeout), charset)


def _rule(entry: str, where: str) -> _Rule:
    text = entry.strip().lower()
    if text == "*":
        return _Rule("*", None)
    try:
        parts = urlsplit("//" + text)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is None or not parts.hostname or parts.path or parts.query or "://" in text:
        raise ScriptError(
            f"{where}.allow: {entry!r} is not a host name (write api.example.com, *.example.org or host:port)"
        )
    return _Rule(parts.hostname, port)


def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name.strip().strip('"')).name
    except LookupError:
        return None


def charset_of(content_type: str | None) -> str | None:
    """The codec named by a Content-Type's charset parameter, if it names a known one."""
    if not content_type:
        return None
    message = Message()
    message["content-type"] = content_type
    charset = message.get_param("charset")
    return _codec(charset) if isinstance(charset, str) else None


def check_allowed(url: str, settings: HttpSettings, function: str) -> None:
    """Refuse a URL that is not http(s) or whose host and port the workspace does not allow."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _STANDARD_PORTS:
        raise ScriptError(f"{function}() only calls http and https URLs, not {url!r}")
    try:
        port = parts.port or _STANDARD_PORTS[scheme]
    except ValueError:
        raise ScriptError(f"{function}(): invalid port in {url!r}") from None
    host = (parts.hostname or "").lower()
    if not host:
        raise ScriptError(f"{function}(): the URL {url!r} names no host")
    if any(rule.matches(scheme, host, port) for rule in settings.allow):
        return
    standard = port == _STANDARD_PORTS[scheme]
    named = f"[{host}]" if ":" in host else host  # an IPv6 address takes brackets before a port
    entry = host if standard else f"{named}:{port}"
    if not standard and any(rule.matches(scheme, host, _STANDARD_PORTS[scheme]) for rule in settings.allow):
        reason = (
            f"port {port} is not allowed: Marketing Cloud only calls http on port 80 and https on port 443"
        )
    else:
        reason = f"host {entry!r} is not in the workspace's HTTP allow-list"
    raise ScriptError(
        f"{function}() may not call {url!r}: {reason}",
        hint=f'to allow it, add it to ampc.json in the workspace: {{"http": {{"allow": ["{entry}"]}}}}',
    )


def send(
    method: str,
    url: str,
    settings: HttpSettings,
    function: str,
    *,
    headers: list[tuple[str, str]] | None = None,
    body: bytes | None = None,
) -> Reply:
    """Send one request, following redirects to allowed hosts only; raise RequestFailed without an answer."""
    check_allowed(url, settings, function)
    timeout = httpx.Timeout(settings.timeout)
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            request = client.build_request(method, url, headers=headers, content=body)
            for _ in range(MAX_REDIRECTS + 1):
                response = client.send(request)
                if response.next_request is None:
                    return _reply(response, settings)
                request = response.next_request
                check_allowed(str(request.url), settings, function)
            raise RequestFailed(f"more than {MAX_REDIRECTS} redirects")
    except httpx.InvalidURL as error:
        raise ScriptError(f"{function}(): invalid URL {url!r}: {error}") from None
    except httpx.TimeoutException:
        raise RequestFailed(f"no answer within {settings.timeout:g} seconds (the timeout)") from None
    except httpx.HTTPError as error:
        raise RequestFailed(str(error) or type(error).__name__) from None


def _reply(response: httpx.Response, settings: HttpSettings) -> Reply:
    codec = charset_of(response.headers.get("content-type")) or settings.charset
    # Bytes the charset cannot decode become U+FFFD, as .NET's decoders do.
    body = response.content.decode(codec, errors="replace")
    # The raw list keeps the server's spelling of each name and repeated headers (Set-Cookie).
    headers = tuple((name.decode("latin-1"), value.decode("latin-1")) for name, value in response.headers.raw)
    return Reply(response.status_code, response.reason_phrase, headers, body)
