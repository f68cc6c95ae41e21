"""A fake Salesforce org's REST API on 127.0.0.1, for testing `ampscript.backends.salesforce_rest`.

A real HTTP server (the standard library's, in a thread):

* ``POST /services/oauth2/token``: the client credentials grant (form
  fields checked) and the JWT bearer grant (the assertion's signature
  checked with the app's public key, and its iss, sub, aud and exp);
* ``GET /services/data/v62.0/sobjects/<SObject>/describe/``;
* ``POST .../sobjects/<SObject>/``: create; field names and JSON types
  checked against the describe (a number field given a string is
  ``JSON_PARSER_ERROR``, as the real API answers);
* ``PATCH .../sobjects/<SObject>/<Id>``: update (``NOT_FOUND`` for an
  unknown ID);
* ``GET .../query?q=SOQL``: its own small SOQL reader (SELECT fields FROM
  object WHERE field op literal AND ... LIMIT n); a literal of the wrong
  kind for its field (a quoted number, a bare string) or an unbalanced
  quote is ``MALFORMED_QUERY``; answers in pages of `page_size` with
  ``nextRecordsUrl``.

Every request without the current token gets ``401 INVALID_SESSION_ID``.
Anything the fake does not understand is recorded in `failures`, which the
tests assert empty.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

VERSION = "v62.0"
FIELDS = {
    "Lead": {
        "Id": "id", "FirstName": "string", "LastName": "string", "Company": "string", "Email": "email",
        "AnnualRevenue": "currency", "NumberOfEmployees": "int", "HasOptedOutOfEmail": "boolean",
        "Region__c": "string", "CreatedDate": "datetime",
    },
    "Contact": {"Id": "id", "LastName": "string", "AccountId": "reference", "Account": "relationship"},
    "Account": {"Id": "id", "Name": "string"},
}
REQUIRED = {"Lead": ("LastName", "Company"), "Contact": ("LastName",), "Account": ("Name",)}
PREFIX = {"Lead": "00Q", "Contact": "003", "Account": "001"}
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def long_id(short: str) -> str:
    suffix = ""
    for start in range(0, 15, 5):
        suffix += _SUFFIX[sum(1 << i for i, c in enumerate(short[start:start + 5]) if c.isupper() and c.isascii())]
    return short + suffix


@dataclass
class FakeSalesforce:
    client_id: str = "consumer-key"
    client_secret: str = "consumer-secret"
    username: str = "integration@example.com"
    public_key: Any = None  # for the JWT bearer grant
    page_size: int = 2000
    records: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {name: [] for name in FIELDS})
    failures: list[str] = field(default_factory=list)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    token_requests: int = 0
    token: str = "token-1"
    _counter: Any = field(default_factory=lambda: itertools.count(1))
    _pages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def start(self) -> FakeSalesforce:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_PATCH(self) -> None:
                fake._handle(self, "PATCH")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add(self, sobject: str, **values: Any) -> str:
        record_id = long_id(PREFIX[sobject] + "5g" + "0" + f"{next(self._counter):09d}")
        self.records[sobject].append({"Id": record_id, **values})
        return record_id

    def expire_token(self) -> None:
        self.token = f"token-{int(self.token.split('-')[1]) + 1}"

    # ---- requests ------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length).decode() if length else ""
        parts = urlsplit(request.path)
        self.requests.append((method, request.path, body))
        try:
            if parts.path == "/services/oauth2/token" and method == "POST":
                status, answer = self._token(parse_qs(body), request.headers.get("Content-Type", ""))
            elif request.headers.get("Authorization") != f"Bearer {self.token}":
                status, answer = 401, [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}]
            else:
                status, answer = self._api(method, parts.path, parse_qs(parts.query), body)
        except _Refused as refused:
            status, answer = refused.status, [{"errorCode": refused.code, "message": refused.message}]
        except Exception as error:  # the fake itself failed: the test must see it
            self.failures.append(f"{method} {request.path}: {error!r}")
            status, answer = 500, [{"errorCode": "UNKNOWN_EXCEPTION", "message": repr(error)}]
        data = b"" if status == 204 else json.dumps(answer).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def _token(self, form: dict[str, list[str]], content_type: str) -> tuple[int, Any]:
        self.token_requests += 1
        if "application/x-www-form-urlencoded" not in content_type:
            self.failures.append(f"token request sent as {content_type!r}")
        grant = form.get("grant_type", [""])[0]
        if grant == "client_credentials":
            good = form.get("client_id") == [self.client_id] and form.get("client_secret") == [self.client_secret]
        elif grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            good = self._good_assertion(form.get("assertion", [""])[0])
        else:
            self.failures.append(f"unexpected grant {grant!r}")
            good = False
        if not good:
            return 400, {"error": "invalid_client", "error_description": "invalid client credentials"}
        return 200, {"access_token": self.token, "instance_url": self.url, "token_type": "Bearer"}

    def _good_assertion(self, assertion: str) -> bool:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        try:
            header, claims, signature = assertion.split(".")
            decode = lambda part: base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))  # noqa: E731
            self.public_key.verify(decode(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
            data = json.loads(decode(claims))
        except (ValueError, InvalidSignature):
            return False
        return (
            json.loads(decode(header)) == {"alg": "RS256"}
            and data.get("iss") == self.client_id
            and data.get("sub") == self.username
            and data.get("aud") == self.url
            and isinstance(data.get("exp"), int)
        )

    def _api(self, method: str, path: str, query: dict[str, list[str]], body: str) -> tuple[int, Any]:
        prefix = f"/services/data/{VERSION}/"
        if not path.startswith(prefix):
            self.failures.append(f"unexpected path {path}")
            raise _Refused(404, "NOT_FOUND", "The requested resource does not exist")
        rest = path[len(prefix):]
        if method == "GET" and rest == "query":
            return 200, self._query(query["q"][0])
        if method == "GET" and rest.startswith("query/"):
            return 200, self._next_page(rest.split("/", 1)[1])
        match = re.fullmatch(r"sobjects/([A-Za-z0-9_]+)/(describe/)?", rest)
        if match:
            sobject = self._sobject(match.group(1))
            if match.group(2) and method == "GET":
                return 200, {"name": sobject, "fields": [{"name": n, "type": t} for n, t in FIELDS[sobject].items()]}
            if not match.group(2) and method == "POST":
                return 201, self._create(sobject, json.loads(body))
        match = re.fullmatch(r"sobjects/([A-Za-z0-9_]+)/([A-Za-z0-9]{18})", rest)
        if match and method == "PATCH":
            self._update(self._sobject(match.group(1)), match.group(2), json.loads(body))
            return 204, None
        self.failures.append(f"unexpected {method} {path}")
        raise _Refused(404, "NOT_FOUND", "The requested resource does not exist")

    def _sobject(self, name: str) -> str:
        if name not in FIELDS:
            raise _Refused(404, "NOT_FOUND", "The requested resource does not exist")
        return name

    def _checked(self, sobject: str, values: dict[str, Any]) -> None:
        for name, value in values.items():
            kind = FIELDS[sobject].get(name)
            if kind is None:
                raise _Refused(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}")
            if value is None:
                continue
            if kind in ("int", "currency") and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise _Refused(400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of {kind} from {value!r}")
            if kind == "boolean" and not isinstance(value, bool):
                raise _Refused(400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of boolean from {value!r}")
            if kind in ("string", "email", "id", "reference") and not isinstance(value, str):
                self.failures.append(f"{sobject}.{name} sent as {type(value).__name__}")

    def _create(self, sobject: str, values: dict[str, Any]) -> dict[str, Any]:
        if "Id" in values:
            raise _Refused(400, "INVALID_FIELD", "The Id field should not be specified in the sobject data.")
        self._checked(sobject, values)
        missing = [name for name in REQUIRED[sobject] if values.get(name) in (None, "")]
        if missing:
            raise _Refused(400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]")
        return {"id": self.add(sobject, **values), "success": True, "errors": []}

    def _update(self, sobject: str, record_id: str, values: dict[str, Any]) -> None:
        self._checked(sobject, values)
        for record in self.records[sobject]:
            if record["Id"] == record_id:
                if any(values.get(name, "") is None for name in REQUIRED[sobject]):
                    raise _Refused(400, "REQUIRED_FIELD_MISSING", "Required fields are missing")
                record.update(values)
                return
        raise _Refused(404, "NOT_FOUND", "Provided external ID field does not exist or is not accessible")

    # ---- SOQL ----------------------------------------------------------------------------

    def _query(self, soql: str) -> dict[str, Any]:
        match = re.fullmatch(r"SELECT (.+?) FROM ([A-Za-z0-9_]+)(?: WHERE (.+?))? LIMIT (\d+)", soql, re.S)
        if not match:
            self.failures.append(f"unreadable SOQL {soql!r}")
            raise _Refused(400, "MALFORMED_QUERY", "unexpected token")
        fields = [name.strip() for name in match.group(1).split(",")]
        sobject = match.group(2)
        if sobject not in FIELDS:
            raise _Refused(400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
        conditions = self._conditions(sobject, match.group(3) or "")
        for name in fields:
            if name.split(".")[0] not in FIELDS[sobject]:
                raise _Refused(400, "INVALID_FIELD", f"No such column '{name}' on entity '{sobject}'.")
        rows = [r for r in self.records[sobject] if all(test(r) for test in conditions)][: int(match.group(4))]
        answers = [self._shaped(sobject, record, fields) for record in rows]
        return self._paged(answers)

    def _shaped(self, sobject: str, record: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        shaped: dict[str, Any] = {"attributes": {"type": sobject, "url": f"/services/data/{VERSION}/sobjects/{sobject}/{record['Id']}"}}
        for name in fields:
            if "." in name:
                relation, inner = name.split(".", 1)
                related = record.get(relation)
                shaped[relation] = None if related is None else {"attributes": {"type": "Account"}, inner: related.get(inner)}
            else:
                shaped[name] = record.get(name)
        return shaped

    def _paged(self, answers: list[dict[str, Any]]) -> dict[str, Any]:
        first, rest = answers[: self.page_size], answers[self.page_size:]
        page: dict[str, Any] = {"totalSize": len(answers), "done": not rest, "records": first}
        if rest:
            locator = f"01g{len(self._pages):015d}-{self.page_size}"
            self._pages[locator] = rest
            page["nextRecordsUrl"] = f"/services/data/{VERSION}/query/{locator}"
        return page

    def _next_page(self, locator: str) -> dict[str, Any]:
        return self._paged(self._pages.pop(locator))

    def _conditions(self, sobject: str, where: str) -> list[Any]:
        tests = []
        position = 0
        token = re.compile(r"\s*([A-Za-z0-9_]+)\s*(=|!=|<=|>=|<|>)\s*")
        while position < len(where):
            match = token.match(where, position)
            if not match:
                self.failures.append(f"unreadable WHERE {where!r}")
                raise _Refused(400, "MALFORMED_QUERY", "unexpected token")
            name, operator = match.groups()
            position = match.end()
            value, position = self._literal(sobject, name, where, position)
            tests.append(_test(name, operator, value))
            rest = where[position:]
            if rest.startswith(" AND "):
                position += 5
            elif rest:
                self.failures.append(f"unexpected text after a condition: {rest!r}")
                raise _Refused(400, "MALFORMED_QUERY", "unexpected token")
        return tests

    def _literal(self, sobject: str, name: str, text: str, position: int) -> tuple[Any, int]:
        kind = FIELDS[sobject].get(name)
        if kind is None:
            raise _Refused(400, "INVALID_FIELD", f"No such column '{name}' on entity '{sobject}'.")
        if text.startswith("null", position):
            return None, position + 4
        if text[position] == "'":
            if kind in ("int", "currency", "boolean", "datetime"):
                raise _Refused(400, "MALFORMED_QUERY", f"value of filter criterion for field '{name}' must be of type {kind} and should not be enclosed in quotes")
            value, i = [], position + 1
            escapes = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}
            while i < len(text) and text[i] != "'":
                if text[i] == "\\":
                    if i + 1 >= len(text) or text[i + 1] not in escapes:
                        raise _Refused(400, "MALFORMED_QUERY", "invalid escape sequence")
                    value.append(escapes[text[i + 1]])
                    i += 2
                else:
                    value.append(text[i])
                    i += 1
            if i >= len(text):
                raise _Refused(400, "MALFORMED_QUERY", "unterminated string")
            return "".join(value), i + 1
        match = re.compile(r"-?\d+(\.\d+)?|true|false|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").match(text, position)
        if not match or kind in ("string", "email", "id", "reference"):
            raise _Refused(400, "MALFORMED_QUERY", f"value of filter criterion for field '{name}' must be of type {kind}")
        word = match.group(0)
        value: Any = {"true": True, "false": False}.get(word, word)
        if kind in ("int", "currency"):
            value = float(word)
        return value, match.end()


def _test(name: str, operator: str, wanted: Any):
    def compare(record: dict[str, Any]) -> bool:
        actual = record.get(name)
        if isinstance(actual, str) and isinstance(wanted, str):
            left, right = actual.lower(), wanted.lower()
        else:
            left, right = actual, wanted
        if operator == "=":
            return left == right
        if operator == "!=":
            return left != right
        if left is None or right is None:
            return False
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[operator]

    return compare


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
