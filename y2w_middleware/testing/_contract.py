"""The gateway contract as data: documented failures, body bytes and times.

The exact bytes the vendor documents live here, in one place, so a reader can
hold them against ``gateway-contract.md`` line by line, next to the few
answers the contract leaves unsaid (unknown path, wrong method). Nothing here
has state; the fake's bookkeeping is in ``_fake.py``.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import string
from datetime import UTC, datetime

__all__ = [
    "ERRORS",
    "JSON_TYPE",
    "Reply",
    "error_reply",
    "iso_millis",
    "json_reply",
    "method_not_allowed",
    "new_token",
    "not_found",
]

#: The one media type the gateway answers with.
JSON_TYPE = "application/json; charset=utf-8"

#: Every failure the contract documents: code -> (HTTP status, message).
#: The messages are the vendor's own words, byte for byte.
ERRORS: dict[str, tuple[int, str]] = {
    "AccessTokenNoExist": (401, "必须有 accessToken"),
    "AccessTokenIsInvalid": (401, "无效的 accessToken"),
    "AccessTokenHasExpired": (401, "accessToken 已过期"),
    "SecretIsInvalid": (403, "无效的 secret"),
    "SecretHasDisabled": (403, "secret 已被禁用"),
    "SecretError": (403, "secret 状态异常"),
    "LimitExceeded": (403, "已超出用量限制"),
    "Identity_Token_Invalid": (500, "identityToken无效"),
    "Identity_Token_In_Expire": (500, "identityToken无效已过期"),
}

#: Tokens look like the vendor's examples (``a447bdDAUeKORvmt``): 16 letters
#: and digits, which also fits the middleware's default identity-token shape.
_TOKEN_ALPHABET = string.ascii_letters + string.digits
_TOKEN_LENGTH = 16


@dataclasses.dataclass(frozen=True)
class Reply:
    """One answer of the fake, before any face turns it into HTTP.

    ``delay`` is how many seconds the face waits before sending it: the
    answer itself is decided when the request arrives.
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    delay: float = 0.0


def json_reply(status: int, payload: dict[str, object]) -> Reply:
    """Encode ``payload`` the way the gateway does: UTF-8, no ASCII escapes."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    return Reply(status, (("Content-Type", JSON_TYPE),), body)


def error_reply(code: str) -> Reply:
    """The documented failure ``code``, with its status and message."""
    status, message = ERRORS[code]
    return json_reply(status, {"status": status, "error": code, "message": message})


def not_found() -> Reply:
    """Any path the contract does not name (the vendor documents none)."""
    return json_reply(
        404, {"status": 404, "error": "NotFound", "message": "no such path"}
    )


def method_not_allowed() -> Reply:
    """Both endpoints are GET only."""
    payload: dict[str, object] = {
        "status": 405,
        "error": "MethodNotAllowed",
        "message": "only GET is allowed",
    }
    reply = json_reply(405, payload)
    return dataclasses.replace(reply, headers=(*reply.headers, ("Allow", "GET")))


def new_token() -> str:
    """A fresh random token shaped like the vendor's."""
    return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(_TOKEN_LENGTH))


def iso_millis(timestamp: float) -> str:
    """``timestamp`` as the gateway prints times: ``2019-12-26T06:25:02.000Z``."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
