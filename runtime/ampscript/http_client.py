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

Beside ``timeout``, two render limits (`ampscript.limits`, ``"limits"`` in
ampc.json) bound one request as a whole:

* ``httpRequestSeconds`` (default 30, the 30-second timeout Marketing Cloud
  documents above): connecting, every redirect and reading the whole body,
  so a server that sends one byte a second cannot hold a render.  Never past
  the render's own deadline (``renderSeconds``).  The body is streamed and
  the clock checked between chunks; each connect, read and write waits at
  most ``timeout`` and at most the time left; and a watchdog shuts the
  request's sockets at the deadline, which ends a read or write that is
  still blocked, e.g. on a server trickling its headers.  Running out is a
  request without an answer (`RequestFailed`, which HTTPGet's
  continueOnError and HTTPPost2's exceptionOnError handle as Marketing
  Cloud's own timeout), unless it was the render's deadline: then the
  render stops with its ``renderSeconds`` `LimitExceeded`.  (The system's
  name resolution is not bounded by either: Python cannot interrupt it.)
* ``httpResponseBytes`` (default 10,000,000): the body of one response.  A
  Content-Length over it is refused before reading anything; otherwise the
  bytes are counted as they arrive and the connection is dropped once over.
  A compressed body (``gzip`` or ``deflate``, the codings ampc asks for) is
  counted after decoding, decoded a slice at a time so a small "zip bomb"
  never takes more memory than the limit, and its compressed bytes are
  bounded by the same number.  A body in a coding the script asked for with
  its own Accept-Encoding header (``br``...) is passed on undecoded, as
  .NET's HttpWebRequest does without automatic decompression (choice).
  Going over is a `LimitExceeded`: a refusal about this machine's settings.

Only http and https URLs are accepted.  Refusals are `ScriptError`s even
where a script asked to continue on error: they are about this machine's
settings, not about the remote server.  That includes a response over
``httpResponseBytes`` (Marketing Cloud documents no such limit, so it is a
local one and says how to raise it), while running out of
``httpRequestSeconds`` is a request without an answer, as a timeout is on
Marketing Cloud.
"""

from __future__ import annotations

import codecs
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .errors import ScriptError
from .lazy import lazy_module
from .limits import Budget
from .rendering import current_budget
from .workspace import Workspace

httpx = lazy_module("httpx")  # imported by the first request: httpx costs start-up

DEFAULT_TIMEOUT = 30.0
DEFAULT_CHARSET = "utf-8"
# Marketing Cloud runs on .NET, whose HttpWebRequest follows up to 50 redirects.
MAX_REDIRECTS = 50
_STANDARD_PORTS = {"http": 80, "https": 443}
# The codings ampc decodes itself, a bounded slice at a time (httpx would also
# ask for br and zstd when their optional packages are installed).
ACCEPT_ENCODING = "gzip, deflate"
_DECODE_SLICE = 64 * 1024  # at most this much decoded output per decompress call


class RequestFailed(Exception):
    """The request got no HTTP answer (refused, unreachable, timed out, too many redirects)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


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
    from email.message import Message  # on first use: the email package costs start-up

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
    budget: Budget | None = None,
) -> Reply:
    """Send one request, following redirects to allowed hosts only; raise RequestFailed without an answer.

    `budget` is the render's (default: the running render's); its limits
    bound the request's total time and its response's size (module docstring).
    """
    check_allowed(url, settings, function)
    budget = budget if budget is not None else current_budget()
    budget.check_time()
    deadline = _Deadline(budget)
    try:
        with httpx.Client(follow_redirects=False, headers={"Accept-Encoding": ACCEPT_ENCODING}) as client:
            request = client.build_request(method, url, headers=headers, content=body)
            for _ in range(MAX_REDIRECTS + 1):
                deadline.arm(request, settings.timeout)
                response = client.send(request, stream=True)
                try:
                    if response.next_request is None:
                        return _reply(response, settings, budget, deadline, function, url)
                    request = response.next_request  # the redirect's own body is not read
                finally:
                    response.close()
                check_allowed(str(request.url), settings, function)
            raise RequestFailed(f"more than {MAX_REDIRECTS} redirects")
    except httpx.InvalidURL as error:
        raise ScriptError(f"{function}(): invalid URL {url!r}: {error}") from None
    except _OutOfTime:
        raise deadline.failure(function, url) from None
    except httpx.TimeoutException:
        if deadline.passed() or deadline.bounded_hop:  # the wait was cut to the time left: it is over
            raise deadline.failure(function, url) from None
        raise RequestFailed(f"no answer within {settings.timeout:g} seconds (the timeout)") from None
    except httpx.HTTPError as error:
        if deadline.passed():  # the watchdog shut the socket under a blocked read or write
            raise deadline.failure(function, url) from None
        raise RequestFailed(str(error) or type(error).__name__) from None
    finally:
        deadline.disarm()


class _OutOfTime(Exception):
    """The request's deadline passed between two chunks."""


class _Deadline:
    """When one request must be over (its own limit or the render's, the sooner), and its watchdog.

    Every connect, read and write waits at most the time left (and at most
    ``timeout``), and the body is read a chunk at a time with the clock
    checked between chunks; what neither covers (a server trickling its
    headers a byte at a time, a read already waiting when the deadline
    comes) the watchdog ends: at the deadline it shuts down the sockets the
    request opened, so the blocked call returns at once with an error.
    """

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.limit = budget.limits.http_request_seconds
        started = time.monotonic()
        self.at = min(started + self.limit, budget.deadline)
        self.render_first = budget.deadline <= started + self.limit
        self.bounded_hop = False  # the current hop's waits were cut to the time left
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._fired = False
        self._timer = threading.Timer(max(self.at - started, 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def left(self) -> float:
        return self.at - time.monotonic()

    def passed(self) -> bool:
        return self._fired or self.left() <= 0

    def check(self) -> None:
        if self.left() <= 0:
            raise _OutOfTime

    def arm(self, request: httpx.Request, timeout: float) -> None:
        """Give the next hop its timeouts (the setting, cut to the time left) and the socket tracer."""
        left = self.left()
        if left <= 0:
            raise _OutOfTime
        self.bounded_hop = left < timeout
        request.extensions["timeout"] = httpx.Timeout(min(timeout, left)).as_dict()
        request.extensions["trace"] = self._trace

    def _trace(self, event: str, info: dict[str, Any]) -> None:
        # httpcore's "trace" extension reports each new connection's stream
        # (https://www.encode.io/httpcore/extensions/#trace).
        if event not in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if not isinstance(sock, socket.socket):
            return
        with self._lock:
            self._sockets.append(sock)
            fired = self._fired
        if fired:
            _shut(sock)

    def _fire(self) -> None:
        with self._lock:
            self._fired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def disarm(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._sockets.clear()

    def failure(self, function: str, url: str) -> Exception:
        """What running out means: the render's LimitExceeded, or a request without an answer."""
        if self.render_first:
            return self.budget.exceeded(
                "render_seconds", f"the render took too long: {function}() was still waiting for {url!r}"
            )
        limits = self.budget.limits
        return RequestFailed(
            f"no complete answer within {self.limit:g} seconds (limit httpRequestSeconds = {self.limit:g})",
            hint=limits.describe("http_request_seconds"),
        )


def _shut(sock: socket.socket) -> None:
    """Shut a socket down under whatever thread is blocked on it (its owner closes it later)."""
    try:
        # The plain socket call, also for a TLS socket: SSLSocket.shutdown would
        # drop its TLS state under the reading thread.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:  # already closed, or never connected
        pass


class _Decoder:
    """Decodes a Content-Encoding a bounded slice at a time (gzip, deflate; others pass through)."""

    def __init__(self, content_encoding: str | None) -> None:
        codings = [part.strip().lower() for part in (content_encoding or "").split(",")]
        codings = [coding for coding in codings if coding and coding != "identity"]
        self.coding = codings[0] if len(codings) == 1 else None
        self._raw_deflate = False
        self._zlib: Any = None
        if self.coding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.coding == "deflate":
            self._zlib = zlib.decompressobj()
        self._started = False

    def decode(self, data: bytes) -> Iterator[bytes]:
        if self._zlib is None:
            if data:
                yield data
            return
        try:
            yield from self._inflate(data)
        except zlib.error:
            if self.coding == "deflate" and not self._started and not self._raw_deflate:
                # Some servers send raw deflate without the zlib header (RFC 9110 says zlib).
                self._raw_deflate = True
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                yield from self.decode(data)
                return
            raise RequestFailed(f"the response's {self.coding} body is corrupt") from None

    def _inflate(self, data: bytes) -> Iterator[bytes]:
        pending = data
        while not self._zlib.eof:
            piece = self._zlib.decompress(pending, _DECODE_SLICE)
            pending = self._zlib.unconsumed_tail
            if piece:
                self._started = True
                yield piece
            if not pending and len(piece) < _DECODE_SLICE:  # a full slice may leave output pending
                break

    def flush(self) -> Iterator[bytes]:
        if self._zlib is None:
            return
        try:
            rest = self._zlib.flush(_DECODE_SLICE)
        except zlib.error:
            raise RequestFailed(f"the response's {self.coding} body is corrupt") from None
        if rest:
            yield rest


def _read_body(
    response: httpx.Response, budget: Budget, deadline: _Deadline, function: str, url: str
) -> bytes:
    """The whole (decoded) body, within httpResponseBytes and the deadline."""
    limit = budget.limits.http_response_bytes

    def too_large(size: str) -> Exception:
        return budget.exceeded(
            "http_response_bytes", f"{function}(): the response from {url!r} is too large ({size})"
        )

    declared = response.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise too_large(f"Content-Length {int(declared):,} bytes")
    decoder = _Decoder(response.headers.get("content-encoding"))
    parts: list[bytes] = []
    received = decoded = 0
    for chunk in response.iter_raw():
        received += len(chunk)
        if received > limit:
            raise too_large(f"more than {limit:,} bytes received")
        for piece in decoder.decode(chunk):
            decoded += len(piece)
            if decoded > limit:
                raise too_large(f"more than {limit:,} bytes once decoded")
            parts.append(piece)
        deadline.check()
    for piece in decoder.flush():
        decoded += len(piece)
        if decoded > limit:
            raise too_large(f"more than {limit:,} bytes once decoded")
        parts.append(piece)
    return b"".join(parts)


def _reply(
    response: httpx.Response,
    settings: HttpSettings,
    budget: Budget,
    deadline: _Deadline,
    function: str,
    url: str,
) -> Reply:
    codec = charset_of(response.headers.get("content-type")) or settings.charset
    # Bytes the charset cannot decode become U+FFFD, as .NET's decoders do.
    body = _read_body(response, budget, deadline, function, url).decode(codec, errors="replace")
    # The raw list keeps the server's spelling of each name and repeated headers (Set-Cookie).
    headers = tuple((name.decode("latin-1"), value.decode("latin-1")) for name, value in response.headers.raw)
    return Reply(response.status_code, response.reason_phrase, headers, body)
