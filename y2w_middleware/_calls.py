"""The contract's two calls, built as requests that are ready to send.

Call 1, ``GET /v1/token``, trades the appid and secret for an access
token. Call 2, ``GET /api/face-login/account/{token}``, trades an identity
token (with the access token as a Bearer credential) for an ``Identity``.
:class:`Calls` builds both as :class:`~._effects.Send` effects, so that
nothing here touches a socket, and refuses an identity token of the wrong
shape before it reaches a store or the network. The flows in
``_gateway.py`` build on it.
"""

from __future__ import annotations

from urllib.parse import quote

import httpx2

from ._effects import Send
from ._settings import Settings
from .errors import InvalidIdentityToken

__all__ = ["ACCOUNT_TEMPLATE", "TOKEN_PATH", "Calls"]

#: The two paths of the contract, as they may appear in a log line.
TOKEN_PATH = "/v1/token"
ACCOUNT_TEMPLATE = "/api/face-login/account/{token}"

_ACCOUNT_PATH = ACCOUNT_TEMPLATE.removesuffix("{token}")
_USER_AGENT = "y2w-middleware"


class Calls:
    """Builds the contract's two requests for one application's settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        base = settings.gateway_url
        self._token_url = base + TOKEN_PATH
        self._account_url = base + _ACCOUNT_PATH
        # The account path as httpx2 will send it, to check built paths against.
        self._account_raw_path = httpx2.URL(self._account_url).raw_path
        # A request built outside a client carries no timeout of its own,
        # and a transport without one waits forever: set all four phases.
        self._extensions = {"timeout": httpx2.Timeout(settings.timeout).as_dict()}

    def token_request(self) -> Send:
        """Call 1: ``GET /v1/token`` with the three documented parameters."""
        secret = self.settings.secret.reveal()
        params = {
            "grant_type": "client_credential",  # singular, as the contract says
            "appid": self.settings.appid,
            "secret": secret,
        }
        request = httpx2.Request(
            "GET",
            self._token_url,
            params=params,
            headers=_headers(),
            extensions=self._extensions,
        )
        return Send(request, TOKEN_PATH, (secret,))

    def account_request(self, identity_token: str, access_token: str) -> Send:
        """Call 2: the identity token as one path segment, the access token
        as a Bearer credential."""
        self.check_identity_token(identity_token)

        # One percent-encoded segment: no "/", "?" or "#" can survive quote().
        url = httpx2.URL(self._account_url + quote(identity_token, safe=""))
        segment = url.raw_path.removeprefix(self._account_raw_path)
        if segment == url.raw_path or not segment or b"/" in segment:
            # Dot segments ("..") are folded away by URL normalisation.
            raise InvalidIdentityToken("identity token is not a valid path segment")

        headers = _headers(authorization=f"Bearer {access_token}")
        request = httpx2.Request(
            "GET", url, headers=headers, extensions=self._extensions
        )
        return Send(request, ACCOUNT_TEMPLATE, (identity_token, access_token))

    def check_identity_token(self, identity_token: str) -> None:
        """Refuse a token of the wrong shape before any store or network use."""
        # fullmatch: with re.match, "$" would also accept a trailing newline.
        if not isinstance(
            identity_token, str
        ) or not self.settings.token_regex.fullmatch(identity_token):
            raise InvalidIdentityToken()


def _headers(**extra: str) -> dict[str, str]:
    return {"Accept": "application/json", "User-Agent": _USER_AGENT, **extra}
