"""OAuth 2.0 access tokens for a Marketing Cloud server-to-server installed package.

The client-credentials grant: ``POST {auth base}/v2/token`` with a JSON body
of grant_type, client_id, client_secret and (optionally) account_id, the MID
of the business unit; the answer holds access_token, expires_in (seconds;
20 minutes at most), soap_instance_url and rest_instance_url.  There is no
refresh token: a new token is requested the same way
("Access Token for Server-to-Server Integrations",
https://developer.salesforce.com/docs/marketing/marketing-cloud/guide/access-token-s2s).

A token is fetched on first use, kept, and fetched again shortly before it
expires, or when the SOAP service rejects it (`TokenSource.invalidate`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from ..errors import ScriptError

# Fetch a new token this long before the old one expires (at most a tenth
# of its lifetime), so that a call never leaves with a token that dies on
# the way.
_EARLY_SECONDS = 60.0


class AuthServiceUnavailable(Exception):
    """The token endpoint could not be reached or gave no usable answer."""


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: float  # on the TokenSource's clock
    soap_instance_url: str | None
    rest_instance_url: str | None = None


class TokenSource:
    def __init__(
        self,
        http: httpx.Client,
        token_url: str,
        client_id: str,
        client_secret: str,
        account_id: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._token_url = token_url
        self._credentials = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        }
        if account_id:
            self._credentials["account_id"] = account_id
        self._clock = clock
        self._token: AccessToken | None = None

    def token(self) -> AccessToken:
        """A token good for a while yet: the cached one, or a new one.

        ScriptError if Marketing Cloud rejects the credentials (the script
        cannot go on); AuthServiceUnavailable if it cannot be asked.
        """
        if self._token is None or self._clock() >= self._token.expires_at:
            self._token = self._fetch()
        return self._token

    def invalidate(self) -> None:
        """Forget the token (the SOAP service said it is no longer good)."""
        self._token = None

    def _fetch(self) -> AccessToken:
        requested_at = self._clock()
        try:
            response = self._http.post(self._token_url, json=self._credentials)
        except httpx.TimeoutException:
            raise AuthServiceUnavailable(
                f"Marketing Cloud's token service did not answer in time ({self._token_url})"
            ) from None
        except httpx.HTTPError as error:
            raise AuthServiceUnavailable(
                f"could not reach Marketing Cloud's token service at {self._token_url}: {error}"
            ) from None
        if response.status_code in (400, 401, 403):
            raise ScriptError(
                "Marketing Cloud refused the API credentials (client ID, client secret or account ID): "
                + _oauth_error(response)
            )
        if response.status_code != 200:
            raise AuthServiceUnavailable(
                f"Marketing Cloud's token service answered HTTP {response.status_code} ({self._token_url})"
            )
        try:
            answer = response.json()
            value = answer["access_token"]
            lifetime = float(answer.get("expires_in", 1200))
        except (ValueError, KeyError, TypeError):
            raise AuthServiceUnavailable(
                f"Marketing Cloud's token service gave no access token ({self._token_url})"
            ) from None
        early = min(_EARLY_SECONDS, lifetime / 10)
        return AccessToken(
            value, requested_at + lifetime - early, answer.get("soap_instance_url"), answer.get("rest_instance_url")
        )


def _oauth_error(response: httpx.Response) -> str:
    """The error an OAuth endpoint gave (``error``/``error_description``), or the HTTP status."""
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if isinstance(answer, dict) and (answer.get("error") or answer.get("error_description")):
        return ": ".join(str(answer[key]) for key in ("error", "error_description") if answer.get(key))
    return f"HTTP {response.status_code}"
