"""The sans-IO gateway layer: requests built, answers read, flows decided.

Nothing here touches a socket: flows are driven by ``_helpers.drive``,
which answers their effects from a list.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from unittest.mock import ANY

import httpx2
import pytest
from _helpers import (
    SESSION_SECRET,
    account_body,
    answer,
    drive,
    error_body,
    token_body,
)

from y2w_middleware import Settings
from y2w_middleware._effects import Send
from y2w_middleware._gateway import Gateway
from y2w_middleware._replies import (
    MAX_BODY,
    BodyReader,
    Failure,
    Reply,
    parse_account,
    parse_token,
)
from y2w_middleware._store import MemoryStore
from y2w_middleware._token import AccessToken
from y2w_middleware.errors import (
    AccessTokenHasExpired,
    AccessTokenIsInvalid,
    AccessTokenNoExist,
    GatewayError,
    GatewayUnavailable,
    IdentityTokenExpired,
    IdentityTokenInvalid,
    InvalidIdentityToken,
    LimitExceeded,
    SecretError,
    SecretHasDisabled,
    SecretIsInvalid,
)

IDENTITY_TOKEN = "9bqzkNIrbeEpA5Ar"
SECRET = "a4474wRq9BwujRV7hM4SGH0QMyrEJF5J"


def make_gateway(**overrides: Any) -> Gateway:
    values: dict[str, Any] = {
        "appid": "a44r4aMbO7BZ1NoW",
        "secret": SECRET,
        "session_secret": SESSION_SECRET,
        "gateway_url": "http://gateway.api.yun2win.com",
    }
    return Gateway(Settings(**{**values, **overrides}))


class TestRequests:
    def test_token_request_is_the_documented_call(self) -> None:
        """Call 1 is a GET with grant_type, appid and secret, in that order."""
        call = make_gateway().token_request()

        assert call.request.method == "GET"
        assert str(call.request.url) == (
            "http://gateway.api.yun2win.com/v1/token?grant_type=client_credential"
            f"&appid=a44r4aMbO7BZ1NoW&secret={SECRET}"
        )
        assert "authorization" not in call.request.headers
        assert call.template == "/v1/token"

    def test_account_request_puts_the_token_in_the_path(self) -> None:
        """Call 2 carries the identity token as the last path segment."""
        call = make_gateway().account_request(IDENTITY_TOKEN, "a447bdDAUeKORvmt")

        assert call.request.url.raw_path == (
            b"/api/face-login/account/" + IDENTITY_TOKEN.encode()
        )
        assert call.request.headers["authorization"] == "Bearer a447bdDAUeKORvmt"
        assert call.template == "/api/face-login/account/{token}"

    def test_requests_keep_the_base_path_of_the_gateway_url(self) -> None:
        """A gateway URL with a path prefixes both calls' paths."""
        gateway = make_gateway(gateway_url="https://proxy.example/y2w/")

        token_url = gateway.token_request().request.url
        account_url = gateway.account_request(IDENTITY_TOKEN, "t").request.url

        assert token_url.path == "/y2w/v1/token"
        assert account_url.path == f"/y2w/api/face-login/account/{IDENTITY_TOKEN}"

    def test_requests_carry_explicit_timeouts(self) -> None:
        """Each request sets all four timeouts from the settings."""
        call = make_gateway(timeout=2.5).token_request()

        assert call.request.extensions["timeout"] == {
            "connect": 2.5,
            "read": 2.5,
            "write": 2.5,
            "pool": 2.5,
        }

    def test_calls_name_their_secrets_and_hide_them_in_reprs(self) -> None:
        """A call lists its sensitive values, and its repr shows none."""
        call = make_gateway().account_request(IDENTITY_TOKEN, "a447bdDAUeKORvmt")

        assert call.sensitive == (IDENTITY_TOKEN, "a447bdDAUeKORvmt")
        assert IDENTITY_TOKEN not in repr(call)
        assert SECRET not in repr(make_gateway().token_request())

    @pytest.mark.parametrize(
        ("token", "segment"),
        [
            pytest.param("a/b/../../x", b"a%2Fb%2F..%2F..%2Fx", id="slashes"),
            pytest.param("abc?x=1", b"abc%3Fx%3D1", id="query"),
            pytest.param("abc#frag", b"abc%23frag", id="fragment"),
            pytest.param("a b", b"a%20b", id="space"),
            pytest.param("张三", b"%E5%BC%A0%E4%B8%89", id="unicode"),
        ],
    )
    def test_odd_tokens_stay_one_percent_encoded_segment(
        self, token: str, segment: bytes
    ) -> None:
        """With a permissive pattern, any token is still exactly one segment."""
        gateway = make_gateway(token_pattern=r".+")

        url = gateway.account_request(token, "t").request.url

        assert url.raw_path == b"/api/face-login/account/" + segment
        assert url.query == b""

    @pytest.mark.parametrize("token", [".", ".."], ids=["dot", "dot-dot"])
    def test_dot_segments_are_refused(self, token: str) -> None:
        """A token URL normalisation would fold away is refused locally."""
        gateway = make_gateway(token_pattern=r".+")

        with pytest.raises(InvalidIdentityToken):
            gateway.account_request(token, "t")

    @pytest.mark.parametrize(
        "token",
        [
            pytest.param("short", id="too-short"),
            pytest.param("x" * 129, id="too-long"),
            pytest.param(IDENTITY_TOKEN + "\n", id="trailing-newline"),
            pytest.param("abc/def/ghi", id="slash"),
            pytest.param("", id="empty"),
            pytest.param(None, id="not-a-string"),
        ],
    )
    def test_tokens_of_the_wrong_shape_are_refused(self, token: Any) -> None:
        """The default pattern refuses odd tokens, a trailing newline too."""
        with pytest.raises(InvalidIdentityToken) as caught:
            make_gateway().check_identity_token(token)

        assert str(caught.value) == "identity token has an invalid shape"


class TestAccessToken:
    def test_leeway_is_a_minute_for_long_lifetimes(self) -> None:
        """A two-hour token is refreshed 60 s before it expires."""
        token = AccessToken.issued("t", 7200, now=1000.0)

        assert token.refresh_at == 1000.0 + 7200 - 60

    def test_leeway_is_a_tenth_for_short_lifetimes(self) -> None:
        """A five-minute token is refreshed 30 s before it expires."""
        token = AccessToken.issued("t", 300, now=1000.0)

        assert token.refresh_at == 1000.0 + 270
        assert token.is_fresh(1000.0 + 269)
        assert not token.is_fresh(1000.0 + 270)

    def test_expires_in_counts_whole_seconds_left(self) -> None:
        """``expires_in`` is the remaining lifetime as an int."""
        token = AccessToken.issued("t", 7200)

        assert token.expires_in in (7199, 7200)
        assert AccessToken("t", 10, expires_at=time.time() - 5).expires_in == 0

    def test_repr_hides_the_value(self) -> None:
        """The token's value never shows in its repr."""
        token = AccessToken.issued("a447bdDAUeKORvmt", 7200)

        assert "a447bdDAUeKORvmt" not in repr(token)
        assert "a447bdDAUeKORvmt" not in str(token)


class TestParsing:
    def test_token_answer_becomes_an_access_token(self) -> None:
        """A 200 token answer gives the token and its lifetime."""
        token = parse_token(answer(200, token_body("a447bdDAUeKORvmt", 7200)))

        assert token.value == "a447bdDAUeKORvmt"
        assert token.lifetime == 7200
        assert token.is_fresh()

    def test_account_answer_becomes_an_identity(self) -> None:
        """A 200 account answer gives an Identity with aware times."""
        identity = parse_account(answer(200, account_body(IDENTITY_TOKEN)))

        assert (identity.id, identity.uid, identity.name) == (
            IDENTITY_TOKEN,
            "f3292423",
            "张德强",
        )
        assert identity.expire.tzinfo is not None

    @pytest.mark.parametrize(
        "body",
        [
            pytest.param(b'{"expires": 7200}', id="no-token"),
            pytest.param(b'{"accessToken": "", "expires": 7200}', id="empty-token"),
            pytest.param(b'{"accessToken": 12, "expires": 7200}', id="number-token"),
            pytest.param(b'{"accessToken": "a b", "expires": 7200}', id="space"),
            pytest.param(b'{"accessToken": "t"}', id="no-expires"),
            pytest.param(b'{"accessToken": "t", "expires": 0}', id="zero"),
            pytest.param(b'{"accessToken": "t", "expires": -5}', id="negative"),
            pytest.param(b'{"accessToken": "t", "expires": true}', id="bool"),
            pytest.param(b'{"accessToken": "t", "expires": "7200"}', id="string"),
            pytest.param(b'{"accessToken": "t", "expires": 7.5}', id="float"),
            pytest.param(b'["t", 7200]', id="list"),
            pytest.param(b"accessToken=t", id="not-json"),
            pytest.param(b"\xff\xfe\x00", id="not-utf8"),
            pytest.param(b"[" * 100_000, id="deeply-nested"),
        ],
    )
    def test_malformed_token_answers_mean_unavailable(self, body: bytes) -> None:
        """A 200 token answer of the wrong shape is a gateway fault."""
        with pytest.raises(GatewayUnavailable):
            parse_token(answer(200, body))

    @pytest.mark.parametrize(
        ("code", "status", "expected"),
        [
            pytest.param("AccessTokenNoExist", 401, AccessTokenNoExist, id="no-exist"),
            pytest.param(
                "AccessTokenIsInvalid", 401, AccessTokenIsInvalid, id="invalid"
            ),
            pytest.param(
                "AccessTokenHasExpired", 401, AccessTokenHasExpired, id="expired"
            ),
            pytest.param("SecretIsInvalid", 403, SecretIsInvalid, id="secret-invalid"),
            pytest.param(
                "SecretHasDisabled", 403, SecretHasDisabled, id="secret-disabled"
            ),
            pytest.param("SecretError", 403, SecretError, id="secret-error"),
            pytest.param("LimitExceeded", 403, LimitExceeded, id="limit"),
            pytest.param(
                "Identity_Token_Invalid", 500, IdentityTokenInvalid, id="id-invalid"
            ),
            pytest.param(
                "Identity_Token_In_Expire", 500, IdentityTokenExpired, id="id-expired"
            ),
        ],
    )
    def test_documented_failures_raise_their_class(
        self, code: str, status: int, expected: type[GatewayError]
    ) -> None:
        """Each documented code raises its own exception with code and status."""
        with pytest.raises(expected) as caught:
            parse_account(answer(status, error_body(code, status, "无效")))

        assert (caught.value.code, caught.value.status) == (code, status)
        assert caught.value.message == "无效"

    def test_unknown_codes_raise_a_plain_gateway_error(self) -> None:
        """A code the contract does not name is still reported, generically."""
        with pytest.raises(GatewayError) as caught:
            parse_account(answer(403, error_body("QuotaFrozen", 403)))

        assert type(caught.value) is GatewayError
        assert caught.value.code == "QuotaFrozen"

    def test_vendor_js_literal_500_is_recognised(self) -> None:
        """The contract's unquoted 500 body still names the identity error."""
        body = (
            "{ status: 500, error: 'Identity_Token_Invalid', "
            "message: 'identityToken无效' }"
        ).encode()

        with pytest.raises(IdentityTokenInvalid) as caught:
            parse_account(answer(500, body))

        assert caught.value.message == "identityToken无效"

    @pytest.mark.parametrize(
        ("status", "body"),
        [
            pytest.param(500, b"{ error: 'SecretIsInvalid' }", id="js-other-code"),
            pytest.param(500, b"<html>Internal Server Error</html>", id="html-500"),
            pytest.param(502, b"<html>502 Bad Gateway</html>", id="html-502"),
            pytest.param(404, error_body("NotFound", 404), id="undocumented-404"),
            pytest.param(418, b"", id="teapot"),
            pytest.param(301, b"", id="redirect-301"),
            pytest.param(302, b"", id="redirect-302"),
            pytest.param(403, b'{"status": 403}', id="no-error-field"),
            pytest.param(401, b'{"error": "has space"}', id="odd-code"),
            pytest.param(200, b"gateway is fine", id="non-json-200"),
        ],
    )
    def test_unusable_answers_mean_unavailable(self, status: int, body: bytes) -> None:
        """Redirects, undocumented statuses and bodies we cannot read are faults."""
        with pytest.raises(GatewayUnavailable) as caught:
            parse_account(answer(status, body))

        assert caught.value.status == status

    def test_vendor_messages_are_scrubbed_and_capped(self) -> None:
        """A message echoing a call's secret is masked, and kept short."""
        body = error_body("SecretIsInvalid", 403, f"bad {SECRET}\n" + "x" * 500)

        with pytest.raises(SecretIsInvalid) as caught:
            parse_token(answer(403, body), (SECRET,))

        assert SECRET not in str(caught.value)
        assert "\n" not in caught.value.message
        assert len(caught.value.message) <= 200

    def test_oversized_answers_mean_unavailable(self) -> None:
        """An answer cut at the size cap is refused whatever its status."""
        oversized = Reply(200, b"", 1.0, oversized=True)

        with pytest.raises(GatewayUnavailable, match="64 KiB"):
            parse_token(oversized)


class TestBodyReader:
    def test_reader_keeps_a_small_body(self) -> None:
        """Chunks under the cap are joined into the answer's body."""
        reader = BodyReader(200, None, time.perf_counter())

        assert reader.feed(b"ab")
        assert reader.feed(b"cd")
        assert reader.answer().body == b"abcd"
        assert not reader.answer().oversized

    def test_reader_stops_past_the_cap(self) -> None:
        """The chunk that passes the cap is refused and the body dropped."""
        reader = BodyReader(200, None, time.perf_counter())

        assert reader.feed(b"x" * MAX_BODY)
        assert not reader.feed(b"x")
        assert reader.answer().oversized
        assert reader.answer().body == b""

    def test_reader_trusts_a_large_content_length(self) -> None:
        """A declared length over the cap stops the reader before any chunk."""
        reader = BodyReader(200, str(MAX_BODY + 1), time.perf_counter())

        assert not reader.wants_more
        assert reader.answer().oversized


class TestFlows:
    def test_cold_token_is_fetched_once_then_cached(self) -> None:
        """The first call fetches and stores; the second is a cache hit."""
        gateway, store = make_gateway(), MemoryStore()
        sent: list[Send] = []

        first = drive(gateway.access_token(), store, [answer(200, token_body())], sent)
        second = drive(gateway.access_token(), store, [], sent)

        assert first is second
        assert len(sent) == 1

    def test_refused_access_token_is_replaced_and_retried_once(self) -> None:
        """A 401 drops the token, fetches another, and asks again."""
        gateway, store = make_gateway(), MemoryStore()
        sent: list[Send] = []
        answers = [
            answer(200, token_body("old-token")),
            answer(401, error_body("AccessTokenHasExpired", 401)),
            answer(200, token_body("new-token")),
            answer(200, account_body(IDENTITY_TOKEN)),
        ]

        identity = drive(gateway.resolve(IDENTITY_TOKEN), store, answers, sent)

        assert identity.uid == "f3292423"
        assert [c.request.headers.get("authorization") for c in sent] == [
            None,
            "Bearer old-token",
            None,
            "Bearer new-token",
        ]
        assert store.get_token() == AccessToken("new-token", 7200, ANY)

    def test_a_second_refusal_is_raised(self) -> None:
        """Two 401s in a row raise the access-token error; no third try."""
        gateway, store = make_gateway(), MemoryStore()
        sent: list[Send] = []
        answers = [
            answer(200, token_body("one")),
            answer(401, error_body("AccessTokenIsInvalid", 401)),
            answer(200, token_body("two")),
            answer(401, error_body("AccessTokenIsInvalid", 401)),
        ]

        with pytest.raises(AccessTokenIsInvalid):
            drive(gateway.resolve(IDENTITY_TOKEN), store, answers, sent)
        assert len(sent) == 4

    def test_a_token_replaced_meanwhile_is_not_dropped(self) -> None:
        """Compare-and-drop keeps a newer token another caller stored."""
        newer = AccessToken.issued("newer", 7200)

        class RacingStore(MemoryStore):
            def drop_token(self, value: str) -> bool:
                # Another caller stores a fresh token just before this drop.
                self.put_token(newer)
                return super().drop_token(value)

        store = RacingStore()
        sent: list[Send] = []
        store.put_token(AccessToken.issued("stale", 7200))
        answers = [
            answer(401, error_body("AccessTokenHasExpired", 401)),
            answer(200, account_body(IDENTITY_TOKEN)),
        ]

        drive(make_gateway().resolve(IDENTITY_TOKEN), store, answers, sent)

        assert store.get_token() is newer
        assert sent[-1].request.headers["authorization"] == "Bearer newer"

    @pytest.mark.parametrize(
        "code", ["SecretHasDisabled", "SecretError", "LimitExceeded"]
    )
    def test_403_answers_are_never_retried(self, code: str) -> None:
        """A 403 on the account call is raised at once, token kept."""
        gateway, store = make_gateway(), MemoryStore()
        sent: list[Send] = []
        store.put_token(AccessToken.issued("kept", 7200))

        with pytest.raises(GatewayError):
            drive(
                gateway.resolve(IDENTITY_TOKEN),
                store,
                [answer(403, error_body(code, 403))],
                sent,
            )
        assert len(sent) == 1
        assert store.get_token() is not None

    def test_limit_exceeded_starts_a_back_off(self) -> None:
        """After LimitExceeded no call goes out until the back-off ends."""
        gateway, store = make_gateway(), MemoryStore()
        sent: list[Send] = []

        with pytest.raises(LimitExceeded) as first:
            drive(
                gateway.access_token(),
                store,
                [answer(403, error_body("LimitExceeded", 403))],
                sent,
            )
        with pytest.raises(LimitExceeded) as second:
            drive(gateway.access_token(), store, [], sent)

        assert first.value.retry_after == 60
        assert second.value.retry_after is not None
        assert 0 < second.value.retry_after <= 60
        assert len(sent) == 1

    def test_an_answer_about_another_token_is_refused(self) -> None:
        """The account answer's ``id`` must echo the token asked about."""
        gateway, store = make_gateway(), MemoryStore()
        store.put_token(AccessToken.issued("t", 7200))

        with pytest.raises(GatewayUnavailable, match="another identity token"):
            drive(
                gateway.resolve(IDENTITY_TOKEN),
                store,
                [answer(200, account_body("someoneElse1"))],
            )
        assert store.get_identity(IDENTITY_TOKEN) is None

    def test_transport_failures_are_unavailable_without_the_url(self) -> None:
        """An httpx2 error becomes GatewayUnavailable, chained, naming its class."""
        gateway = make_gateway()
        request = gateway.token_request().request
        error = httpx2.ConnectError(f"cannot reach {request.url}", request=request)

        with pytest.raises(GatewayUnavailable) as caught:
            drive(gateway.access_token(), MemoryStore(), [Failure(error, 3.0)])

        assert caught.value.__cause__ is error
        assert "ConnectError" in str(caught.value)
        assert SECRET not in str(caught.value)

    def test_waiters_take_the_token_another_process_fetched(self) -> None:
        """A busy fleet lock means polling the store, then no call at all."""
        gateway = make_gateway()
        store = MemoryStore()
        fetched = AccessToken.issued("fleet-token", 7200)
        store.acquire_token_lock = lambda owner, ttl: False  # type: ignore[method-assign]
        sleeps: list[float] = []

        def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            if len(sleeps) == 3:
                store.put_token(fetched)

        result = drive(gateway.access_token(), store, [], on_sleep=sleep)

        assert result is fetched
        assert len(sleeps) == 3

    def test_waiters_fetch_themselves_when_the_lock_never_frees(self) -> None:
        """A lock held past its TTL does not block the flow for ever."""
        gateway = make_gateway(timeout=0.5)
        store = MemoryStore()
        store.acquire_token_lock = lambda owner, ttl: False  # type: ignore[method-assign]
        sent: list[Send] = []

        token = drive(gateway.access_token(), store, [answer(200, token_body())], sent)

        assert token.value == "a447bdDAUeKORvmt"
        assert len(sent) == 1

    def test_the_fleet_lock_is_released_after_a_failure(self) -> None:
        """A failed token call still releases the lock for the next caller."""
        gateway = make_gateway()
        released: list[str] = []
        store = MemoryStore()
        store.release_token_lock = released.append  # type: ignore[method-assign,assignment]

        with pytest.raises(SecretIsInvalid):
            drive(
                gateway.access_token(),
                store,
                [answer(403, error_body("SecretIsInvalid", 403))],
            )
        assert len(released) == 1

    def test_credential_refusal_logs_one_error_line(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A refused secret logs one ERROR naming the code, not the secret."""
        caplog.set_level(logging.DEBUG, logger="y2w_middleware")

        with pytest.raises(SecretHasDisabled):
            drive(
                make_gateway().access_token(),
                MemoryStore(),
                [answer(403, error_body("SecretHasDisabled", 403))],
            )

        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1
        assert "SecretHasDisabled" in errors[0].getMessage()
        assert "credentials" in errors[0].getMessage()
        assert SECRET not in caplog.text
