"""The HTTP request a CloudPage renders for, and what the page answers.

A landing page (CloudPage, microsite page) renders for one request: its
method, URL, query string, form fields, headers and cookies.  A `Request`
carries them into the render (``Context(request=Request(...))``) and its
`Response` carries back what the page set: a redirect (status and Location),
extra headers and cookies.  `ampc run --param/--header/--method` and
`ampc serve` build one; in Python::

    Request(method="POST", url="http://127.0.0.1:8000/signup",
            form={"email": "ana@example.com"}, headers={"User-Agent": "pytest"})

Names are case-insensitive (query and form parameters, headers, cookies), as
in the ASP.NET collections Marketing Cloud reads them from (compared with
`ampscript.values.case.fold`, .NET's ordinal ignore-case); a parameter sent
more than once reads as its values joined by commas, as .NET joins them
(observed: https://sfmc.guide/engagement/differs-from-docs/#requestparameter-case-duplicates-and-raw-values).

What a script puts in a response header cannot split the response:
Redirect()'s URL is stored as the Location header will carry it
(`safe_location`), and `ampc serve` passes every other header value through
`safe_header_value`.  Control characters are percent-encoded, as ASP.NET
(Marketing Cloud's platform) encodes them in outgoing headers by default,
"CR and LF ... are encoded as %0d and %0a"
(https://learn.microsoft.com/en-us/dotnet/api/system.web.configuration.httpruntimesection.enableheaderchecking).

CloudPagesURL() links carry their parameters in one encrypted ``qs`` query
parameter.  `encode_query_string` / `decode_query_string` are the local
codec: AES-GCM (as the reference says Marketing Cloud uses) under a key from
the workspace's ``ampc.json`` (``"site": {"key": "..."}``) or, by default, a
fixed development key, which is no secret: it only lets local pages read the
links local renders made.  The nonce is derived from the content (HMAC), so
the same link always encrypts to the same URL and expected outputs stay stable.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .errors import ScriptError
from .values import case, parse_json
from .workspace import Workspace

DEFAULT_SITE_URL = "http://127.0.0.1:8000"  # where `ampc serve` listens by default
_DEVELOPMENT_KEY = "ampc local CloudPages key (not a secret)"

Pairs = Mapping[str, Any] | Iterable[tuple[str, Any]]


class MultiDict(Mapping[str, str]):
    """Name -> value pairs in order; names match case-insensitively, repeated names join with commas."""

    def __init__(self, pairs: Pairs | None = None) -> None:
        self._pairs: list[tuple[str, str]] = []
        self.extend(pairs or ())

    def extend(self, pairs: Pairs) -> None:
        items = pairs.items() if isinstance(pairs, Mapping) else pairs
        for name, value in items:
            values = value if isinstance(value, (list, tuple)) else [value]
            self._pairs.extend((str(name), "" if item is None else str(item)) for item in values)

    def get_all(self, name: str) -> list[str]:
        wanted = case.fold(name)
        return [value for key, value in self._pairs if case.fold(key) == wanted]

    def __getitem__(self, name: str) -> str:
        values = self.get_all(name)
        if not values:
            raise KeyError(name)
        return ",".join(values)

    def __iter__(self) -> Iterator[str]:
        seen: dict[str, str] = {}
        for key, _ in self._pairs:
            seen.setdefault(case.fold(key), key)
        return iter(seen.values())

    def __len__(self) -> int:
        return len({case.fold(key) for key, _ in self._pairs})

    def items_multi(self) -> list[tuple[str, str]]:
        return list(self._pairs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._pairs!r})"


class Headers(MultiDict):
    """HTTP headers: case-insensitive; a repeated header reads as its values joined by ', ' (RFC 9110)."""

    def __getitem__(self, name: str) -> str:
        values = self.get_all(name)
        if not values:
            raise KeyError(name)
        return ", ".join(values)


class Response:
    """What the page sets on the way out: status, redirect location, headers, cookies."""

    def __init__(self) -> None:
        self.status = 200
        self.location: str | None = None
        self.headers = Headers()
        self.cookies: dict[str, str] = {}

    def redirect(self, url: str, status: int = 302) -> None:
        """Answer with a redirect; `location` keeps the URL as the Location header sends it (`safe_location`)."""
        self.status, self.location = status, safe_location(url)

    @property
    def is_redirect(self) -> bool:
        return self.location is not None


class Request:
    """One HTTP request to a landing page.

    * ``url``: the page's full URL; its query string is parsed into `query`;
    * ``query`` / ``form``: more query parameters / form fields (a mapping or
      pairs; a list value sends the name once per item);
    * ``headers``: case-insensitive; ``cookies`` default to the Cookie header's;
    * ``body``: the raw body; a urlencoded POST body without ``form`` is parsed
      into form fields;
    * ``authenticated``: the logged-in user the Authenticated*() functions
      report (keys MemberID, MemberName, EnterpriseID, EmployeeID,
      EmployeeUserName, EmployeeNotificationAddress), over the workspace's
      ``ampc.json`` ``"authenticated"`` section.
    """

    def __init__(
        self,
        method: str = "GET",
        url: str = DEFAULT_SITE_URL + "/",
        *,
        query: Pairs | None = None,
        form: Pairs | None = None,
        headers: Pairs | None = None,
        cookies: Mapping[str, str] | None = None,
        body: bytes | str = b"",
        authenticated: Mapping[str, Any] | None = None,
    ) -> None:
        self.method = case.upper(method)
        self.url = url
        parts = urlsplit(url)
        if not parts.scheme or not parts.netloc:
            raise ValueError(f"a request needs an absolute URL (http://host/path), got {url!r}")
        self.path = parts.path or "/"
        self.query = MultiDict(parse_qsl(parts.query, keep_blank_values=True))
        self.query.extend(query or ())
        self.headers = Headers(headers or ())
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.form = MultiDict(form or ())
        if form is None and self.body and _is_urlencoded(self.headers.get("Content-Type", "")):
            self.form.extend(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))
        self.cookies = MultiDict(
            cookies if cookies is not None else _parse_cookies(self.headers.get("Cookie"))
        )
        if cookies and "Cookie" not in self.headers:  # as a browser would send them
            self.headers.extend([("Cookie", "; ".join(f"{name}={value}" for name, value in cookies.items()))])
        self.authenticated = dict(authenticated or {})
        self.response = Response()
        self._encrypted: dict[str, Any] | None = None  # the decoded `qs`, once read

    @property
    def origin(self) -> str:
        """scheme://host[:port] of the page's URL."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    def encrypted(self, workspace: Workspace) -> dict[str, Any]:
        """The content of the URL's encrypted ``qs`` parameter (CloudPagesURL), or {} if there is none.

        A ``qs`` that does not decrypt under the workspace's key is an error,
        as a tampered or foreign link is on Marketing Cloud.
        """
        if self._encrypted is None:
            token = self.query.get("qs")
            self._encrypted = decode_query_string(workspace, token) if token else {}
        return self._encrypted

    def parameter(self, name: str, workspace: Workspace) -> str | None:
        """A request parameter: the encrypted ``qs`` parameters first, then the query string, then form fields."""
        encrypted = self.encrypted(workspace).get("parameters", {})
        wanted = case.fold(name)
        for key, value in encrypted.items():
            if case.fold(key) == wanted:
                return value
        for source in (self.query, self.form):
            if name in source:
                return source[name]
        return None

    def subscriber(self, workspace: Workspace) -> dict[str, Any] | None:
        """The subscriber a CloudPagesURL link carries (the email's), so personalization strings work; else None."""
        subscriber = self.encrypted(workspace).get("subscriber")
        return dict(subscriber) if isinstance(subscriber, dict) else None

    def __repr__(self) -> str:
        return f"Request({self.method!r}, {self.url!r})"


# Characters that would end or corrupt a header line: C0 controls (CR, LF, NUL...) and DEL.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# In a URL, spaces and characters beyond ASCII are percent-encoded too (as UTF-8), as browsers
# encode them before following it.
_NOT_URL_SAFE = re.compile(r"[\x00-\x20\x7f-\U0010ffff]")


def _percent(match: re.Match[str]) -> str:
    return "".join(f"%{byte:02X}" for byte in match.group().encode("utf-8", "replace"))


def safe_location(url: str) -> str:
    """A redirect URL fit for the Location header: control characters, spaces and non-ASCII percent-encoded.

    Blanks around the URL are dropped first, as browsers drop them.  (choice)
    Encoding rather than refusing: "%0D%0A" keeps the injected text inside
    the one header line, as ASP.NET's header checking does, and the page's
    own mistake still shows in the browser's address bar.
    """
    return _NOT_URL_SAFE.sub(_percent, url.strip())


def safe_header_value(value: str) -> str:
    """A header value that cannot split the response (for headers and cookies a page sets).

    Blanks around it are dropped, control characters (tab too) percent-encoded,
    and characters beyond Latin-1, which an HTTP/1.1 header cannot carry,
    percent-encoded as UTF-8.
    """
    text = _CONTROL.sub(_percent, value.strip(" \t"))
    return re.sub(r"[^\x00-\xff]+", _percent, text)


def _is_urlencoded(content_type: str) -> bool:
    return case.fold(content_type.split(";")[0].strip()) == case.fold("application/x-www-form-urlencoded")


def _parse_cookies(header: str | None) -> list[tuple[str, str]]:
    if not header:
        return []
    cookie = SimpleCookie()
    try:
        cookie.load(header)
    except CookieError:  # a malformed Cookie header: browsers drop it, so do we
        return []
    return [(name, morsel.value) for name, morsel in cookie.items()]


# ------------------------------------------------------------------ the `qs` codec


def site_settings(workspace: Workspace) -> dict[str, Any]:
    """The ``"site"`` section of ampc.json: ``url`` (base URL of page links) and ``key`` (the qs key)."""
    section = workspace.settings().get("site", {})
    if not isinstance(section, dict):
        raise ScriptError('ampc.json: \'site\' must be a JSON object, e.g. {"url": "http://127.0.0.1:8000"}')
    return section


def _key(workspace: Workspace) -> bytes:
    secret = site_settings(workspace).get("key") or _DEVELOPMENT_KEY
    return hashlib.sha256(str(secret).encode("utf-8")).digest()


def encode_query_string(workspace: Workspace, payload: Mapping[str, Any]) -> str:
    """Encrypt a link's payload into the hexadecimal ``qs`` value."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = _key(workspace)
    plaintext = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8")
    nonce = hmac.new(key, plaintext, hashlib.sha256).digest()[:12]
    return (nonce + AESGCM(key).encrypt(nonce, plaintext, None)).hex()


def decode_query_string(workspace: Workspace, token: str) -> dict[str, Any]:
    """The payload of a ``qs`` value that `encode_query_string` made with this workspace's key."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        data = bytes.fromhex(token)
        plaintext = AESGCM(_key(workspace)).decrypt(data[:12], data[12:], None)
        payload = parse_json(plaintext)
    except (ValueError, InvalidTag):
        raise ScriptError(
            "the page's encrypted query string (qs) is invalid: it was not made by CloudPagesURL() "
            "with this workspace's key"
        ) from None
    if not isinstance(payload, dict):
        raise ScriptError("the page's encrypted query string (qs) is invalid")
    return payload


# ------------------------------------------------------------------ pages by ID


def pages(workspace: Workspace) -> dict[str, str]:
    """The workspace's page IDs: ampc.json ``"pages": {"314": "confirm.amp", ...}`` (ID -> .amp file)."""
    section = workspace.settings().get("pages", {})
    if not isinstance(section, dict) or not all(isinstance(file, str) for file in section.values()):
        raise ScriptError('ampc.json: \'pages\' must map page IDs to .amp files, e.g. {"314": "confirm.amp"}')
    return {str(page_id).strip(): file for page_id, file in section.items()}


def page_path(workspace: Workspace, page_id: str) -> str:
    """The URL path of a page: its file's path without ``.amp`` ("/confirm"), or "/<ID>" if the ID is not mapped.

    An unmapped ID still makes a well-formed link, as a link to a page not
    yet published would be; `ampc serve` answers it with 404 and says how to
    map the ID.
    """
    file = pages(workspace).get(page_id)
    if file is None:
        return f"/{page_id}"
    file = file.replace("\\", "/").lstrip("/")
    return "/" + (file[: -len(".amp")] if case.fold(file).endswith(case.fold(".amp")) else file)
