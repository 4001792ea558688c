"""The fake gateway served for local work, with one extra endpoint to mint tokens.

``POST /_fake/identity-tokens`` with ``{"uid", "name"}`` (and an optional
``ttl`` in seconds) answers ``{"identityToken", "expires"}``: what the
vendor's face component hands a browser after recognising a face. It lets
another process (curl, an example app's tests) play the person in front
of the camera. Every other request goes to the fake's contract.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ..testing import FakeGateway
from ..testing._server import serve

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["MINT_PATH", "minting_app", "serve_gateway"]

MINT_PATH = "/_fake/identity-tokens"
_MAX_BODY = 4096


def minting_app(gateway: FakeGateway) -> WSGIApplication:
    """*gateway* as a WSGI app, plus ``POST`` :data:`MINT_PATH`."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != MINT_PATH:
            return gateway.wsgi(environ, start_response)
        if environ.get("REQUEST_METHOD") != "POST":
            return _json(start_response, "405 Method Not Allowed", {"error": "POST"})

        fields = _read_json(environ)
        uid, name = fields.get("uid"), fields.get("name")
        ttl = fields.get("ttl", 300)
        if not (isinstance(uid, str) and uid and isinstance(name, str) and name):
            body = {"error": "BadRequest", "message": 'expected {"uid", "name"}'}
            return _json(start_response, "400 Bad Request", body)
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl < 0:
            body = {"error": "BadRequest", "message": "ttl: seconds, 0 or more"}
            return _json(start_response, "400 Bad Request", body)

        token = gateway.issue_identity_token(uid, name, ttl=ttl)
        return _json(
            start_response, "201 Created", {"identityToken": token, "expires": ttl}
        )

    return app


@contextlib.contextmanager
def serve_gateway(gateway: FakeGateway, host: str, port: int) -> Iterator[str]:
    """Serve :func:`minting_app` in a background thread; yield its base URL.

    Raises ``OSError`` when the address cannot be bound.
    """
    with serve(minting_app(gateway), host, port) as base_url:
        yield base_url


def _read_json(environ: WSGIEnvironment) -> dict[str, Any]:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return {}
    if not 0 < length <= _MAX_BODY:
        return {}
    try:
        data = json.loads(environ["wsgi.input"].read(length))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _json(start_response: StartResponse, status: str, body: object) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(
        status,
        [("content-type", "application/json"), ("content-length", str(len(payload)))],
    )
    return [payload]
