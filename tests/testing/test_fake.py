"""FakeGateway: the contract, byte for byte, through every face, and its controls."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol
from urllib.parse import urlencode

import anyio
import httpx2
import pytest

import y2w_middleware.testing as testing
from y2w_middleware.testing import FakeGateway, Fault

#: The vendor's example person was recognised at 2019-12-26T06:20:02Z.
VENDOR_NOW = 1577341202.0
BASE = "http://gateway.test"
FACES = ["transport", "async-transport", "asgi", "served"]
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{8,128}$")


class Get(Protocol):
    """A GET through one of the fake's faces."""

    def __call__(
        self, path: str, headers: dict[str, str] | None = None
    ) -> httpx2.Response: ...


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio."""
    return "asyncio"


@pytest.fixture
def gw() -> FakeGateway:
    """A gateway whose clock stands still at the vendor's example time."""
    return FakeGateway(clock=lambda: VENDOR_NOW)


@pytest.fixture(params=FACES)
def get(request: pytest.FixtureRequest, gw: FakeGateway) -> Iterator[Get]:
    """GET through each face in turn; async faces run in their own loop."""
    face: str = request.param
    if face == "served":
        with gw.serve() as url, httpx2.Client(base_url=url) as client:
            yield lambda path, headers=None: client.get(path, headers=headers)
        return
    if face == "transport":
        with httpx2.Client(transport=gw.transport(), base_url=BASE) as client:
            yield lambda path, headers=None: client.get(path, headers=headers)
        return

    transport: httpx2.AsyncBaseTransport = (
        gw.transport() if face == "async-transport" else httpx2.ASGITransport(gw.asgi)
    )

    def get_async(path: str, headers: dict[str, str] | None = None) -> httpx2.Response:
        async def go() -> httpx2.Response:
            async with httpx2.AsyncClient(transport=transport, base_url=BASE) as client:
                return await client.get(path, headers=headers)

        return anyio.run(go)

    yield get_async


@pytest.fixture
def client(gw: FakeGateway) -> Iterator[httpx2.Client]:
    """A sync client on the transport face, for behaviour every face shares."""
    with httpx2.Client(transport=gw.transport(), base_url=BASE) as client:
        yield client


def token_path(gw: FakeGateway, **overrides: str | None) -> str:
    """Call 1 with the gateway's own credentials, some overridden or dropped."""
    params: dict[str, str | None] = {
        "grant_type": "client_credential",
        "appid": gw.appid,
        "secret": gw.secret,
        **overrides,
    }
    return "/v1/token?" + urlencode({k: v for k, v in params.items() if v is not None})


def account_path(identity_token: str) -> str:
    """Call 2's path, the token already encoded as the caller wants it."""
    return f"/api/face-login/account/{identity_token}"


def bearer(access_token: str) -> dict[str, str]:
    """The Authorization header of call 2."""
    return {"Authorization": f"Bearer {access_token}"}


def failure(status: int, code: str, message: str) -> bytes:
    """A documented failure body, spelled out by hand."""
    text = f'{{"status": {status}, "error": "{code}", "message": "{message}"}}'
    return text.encode()


def person(gw: FakeGateway, **kwargs: Any) -> str:
    """An identity token for the vendor's example person."""
    return gw.issue_identity_token("f3292423", "张德强", **kwargs)


# -- the contract -------------------------------------------------------------


def test_token_answers_with_access_token_and_lifetime(
    get: Get, gw: FakeGateway
) -> None:
    """Call 1 answers 200 JSON: a fresh 16-character token and ``expires``."""
    response = get(token_path(gw))

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert list(body) == ["accessToken", "expires"]
    assert re.fullmatch(r"[A-Za-z0-9]{16}", body["accessToken"])
    assert body["expires"] == 7200


def test_account_answers_the_vendors_example_byte_exactly(
    get: Get, gw: FakeGateway
) -> None:
    """Call 2 gives the vendor's example person, times in UTC with milliseconds."""
    token = person(gw, token="9bqzkNIrbeEpA5Ar")

    response = get(account_path(token), bearer(gw.issue_access_token()))

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert (
        response.content
        == (
            '{"id": "9bqzkNIrbeEpA5Ar", "uid": "f3292423", "name": "张德强", '
            '"expire": "2019-12-26T06:25:02.000Z", '
            '"createdAt": "2019-12-26T06:20:02.000Z", '
            '"updatedAt": "2019-12-26T06:20:02.000Z"}'
        ).encode()
    )


def _no_access_token(gw: FakeGateway) -> tuple[str, dict[str, str]]:
    return account_path(person(gw)), {}


def _unknown_access_token(gw: FakeGateway) -> tuple[str, dict[str, str]]:
    return account_path(person(gw)), bearer("neverIssued00000")


def _expired_access_token(gw: FakeGateway) -> tuple[str, dict[str, str]]:
    access_token = gw.issue_access_token()
    gw.advance(gw.token_ttl)
    return account_path(person(gw)), bearer(access_token)


def _wrong_secret(gw: FakeGateway) -> tuple[str, dict[str, str]]:
    return token_path(gw, secret="not-the-secret"), {}


def _disabled_secret(gw: FakeGateway) -> tuple[str, dict[str, str]]:
    gw.disable_secret()
    return token_path(gw), {}


def _secret_error(gw: FakeGateway) -> tuple[str, dict[str, str]]:
    gw.set_secret_error()
    return token_path(gw), {}


def _quota_spent(gw: FakeGateway) -> tuple[str, dict[str, str]]:
    gw.set_quota(0)
    return token_path(gw), {}


def _unknown_identity_token(gw: FakeGateway) -> tuple[str, dict[str, str]]:
    return account_path("neverRecognised0"), bearer(gw.issue_access_token())


def _expired_identity_token(gw: FakeGateway) -> tuple[str, dict[str, str]]:
    identity_token = person(gw, ttl=300)
    gw.advance(300)
    return account_path(identity_token), bearer(gw.issue_access_token())


Setup = Callable[[FakeGateway], tuple[str, dict[str, str]]]

FAILURES = [
    pytest.param(
        _no_access_token,
        failure(401, "AccessTokenNoExist", "必须有 accessToken"),
        id="AccessTokenNoExist",
    ),
    pytest.param(
        _unknown_access_token,
        failure(401, "AccessTokenIsInvalid", "无效的 accessToken"),
        id="AccessTokenIsInvalid",
    ),
    pytest.param(
        _expired_access_token,
        failure(401, "AccessTokenHasExpired", "accessToken 已过期"),
        id="AccessTokenHasExpired",
    ),
    pytest.param(
        _wrong_secret,
        failure(403, "SecretIsInvalid", "无效的 secret"),
        id="SecretIsInvalid",
    ),
    pytest.param(
        _disabled_secret,
        failure(403, "SecretHasDisabled", "secret 已被禁用"),
        id="SecretHasDisabled",
    ),
    pytest.param(
        _secret_error,
        failure(403, "SecretError", "secret 状态异常"),
        id="SecretError",
    ),
    pytest.param(
        _quota_spent,
        failure(403, "LimitExceeded", "已超出用量限制"),
        id="LimitExceeded",
    ),
    pytest.param(
        _unknown_identity_token,
        failure(500, "Identity_Token_Invalid", "identityToken无效"),
        id="Identity_Token_Invalid",
    ),
    pytest.param(
        _expired_identity_token,
        failure(500, "Identity_Token_In_Expire", "identityToken无效已过期"),
        id="Identity_Token_In_Expire",
    ),
]


@pytest.mark.parametrize(("setup", "expected"), FAILURES)
def test_each_documented_failure_is_byte_exact(
    get: Get, gw: FakeGateway, setup: Setup, expected: bytes
) -> None:
    """Every code of the contract's table comes with its status and exact bytes."""
    path, headers = setup(gw)

    response = get(path, headers)

    assert response.status_code == json.loads(expected)["status"]
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.content == expected


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"appid": "someone-else"}, id="wrong-appid"),
        pytest.param({"appid": None}, id="no-appid"),
        pytest.param({"secret": None}, id="no-secret"),
        pytest.param({"secret": ""}, id="empty-secret"),
        pytest.param({"grant_type": "client_credentials"}, id="plural-grant-type"),
        pytest.param({"grant_type": None}, id="no-grant-type"),
    ],
)
def test_token_refuses_anything_but_the_exact_credentials(
    client: httpx2.Client, gw: FakeGateway, overrides: dict[str, str | None]
) -> None:
    """A wrong or missing parameter of call 1 is 403 ``SecretIsInvalid``."""
    response = client.get(token_path(gw, **overrides))

    assert response.status_code == 403
    assert response.json()["error"] == "SecretIsInvalid"


@pytest.mark.parametrize(
    ("refuse", "code"),
    [
        pytest.param(FakeGateway.disable_secret, "SecretHasDisabled", id="disabled"),
        pytest.param(FakeGateway.set_secret_error, "SecretError", id="secret-error"),
        pytest.param(lambda gw: gw.set_quota(0), "LimitExceeded", id="quota-spent"),
    ],
)
def test_account_shares_the_applications_refusals(
    client: httpx2.Client,
    gw: FakeGateway,
    refuse: Callable[[FakeGateway], None],
    code: str,
) -> None:
    """A disabled secret, a secret error or a spent quota refuse call 2 as well."""
    access_token = gw.issue_access_token()
    refuse(gw)

    response = client.get(account_path(person(gw)), headers=bearer(access_token))

    assert response.status_code == 403
    assert response.json()["error"] == code


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Basic dXNlcjpwYXNz", id="other-scheme"),
        pytest.param("Bearer", id="no-token"),
        pytest.param("Bearer   ", id="blank-token"),
    ],
)
def test_authorization_without_a_bearer_token_is_no_token(
    client: httpx2.Client, gw: FakeGateway, authorization: str
) -> None:
    """Only ``Bearer <token>`` counts as carrying an access token."""
    headers = {"Authorization": authorization}

    response = client.get(account_path(person(gw)), headers=headers)

    assert response.json()["error"] == "AccessTokenNoExist"


def test_secret_can_be_enabled_again(client: httpx2.Client, gw: FakeGateway) -> None:
    """``enable_secret`` and ``set_secret_error(False)`` restore normal service."""
    gw.disable_secret()
    gw.set_secret_error()
    gw.enable_secret()
    gw.set_secret_error(False)

    assert client.get(token_path(gw)).status_code == 200


# -- paths and methods --------------------------------------------------------


def test_identity_token_segment_is_percent_decoded(get: Get, gw: FakeGateway) -> None:
    """An identity token sent percent-encoded resolves like the plain one."""
    token = person(gw, token="9bqzkNIrbeEpA5Ar")

    response = get(
        account_path("%39bqzkNIrbeEpA5%41r"), bearer(gw.issue_access_token())
    )

    assert response.status_code == 200
    assert response.json()["id"] == token


def test_encoded_slash_stays_inside_one_segment(get: Get, gw: FakeGateway) -> None:
    """``%2F`` is part of the token, not a path separator, on every face."""
    token = person(gw, token="left/right")

    response = get(account_path("left%2Fright"), bearer(gw.issue_access_token()))

    assert response.status_code == 200
    assert response.json()["id"] == token


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/", id="root"),
        pytest.param("/v1/token/", id="token-trailing-slash"),
        pytest.param("/api/face-login/account/", id="account-without-token"),
        pytest.param("/api/face-login/account/a/b", id="account-two-segments"),
        pytest.param("/v1/tokens", id="near-miss"),
    ],
)
def test_unknown_paths_are_404_json(get: Get, gw: FakeGateway, path: str) -> None:
    """A path outside the contract is 404 JSON and counted as ``other``."""
    response = get(path)

    assert response.status_code == 404
    assert response.json()["error"] == "NotFound"
    assert gw.calls == {"token": 0, "account": 0, "other": 1}


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_only_get_is_allowed(
    client: httpx2.Client, gw: FakeGateway, method: str
) -> None:
    """Both endpoints refuse other methods with 405 JSON and ``Allow: GET``."""
    response = client.request(method, token_path(gw))

    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert response.json()["error"] == "MethodNotAllowed"


def test_handle_reads_headers_in_any_case(gw: FakeGateway) -> None:
    """The framework-neutral core finds ``Authorization`` whatever its case."""
    identity_token = person(gw)
    headers = {"AUTHORIZATION": f"bearer {gw.issue_access_token()}"}

    reply = gw.handle("GET", account_path(identity_token), "", headers)

    assert reply.status == 200
    assert reply.delay == 0


# -- faults -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status", "content_type"),
    [
        pytest.param(Fault.HTML_502, 502, "text/html", id="html-502"),
        pytest.param(Fault.NON_JSON, 200, "text/plain; charset=utf-8", id="non-json"),
        pytest.param(
            Fault.JS_LITERAL_500,
            500,
            "application/json; charset=utf-8",
            id="js-literal-500",
        ),
    ],
)
def test_injected_fault_answers_once_in_place_of_the_gateway(
    get: Get, gw: FakeGateway, fault: Fault, status: int, content_type: str
) -> None:
    """A fault answers the next request with a body that is no JSON, then goes."""
    gw.inject(fault)

    faulty = get(token_path(gw))
    normal = get(token_path(gw))

    assert faulty.status_code == status
    assert faulty.headers["content-type"] == content_type
    with pytest.raises(json.JSONDecodeError):
        json.loads(faulty.content)
    assert normal.status_code == 200


def test_html_502_looks_like_a_proxy_page(
    client: httpx2.Client, gw: FakeGateway
) -> None:
    """The 502 page is HTML that says Bad Gateway."""
    gw.inject(Fault.HTML_502)

    body = client.get(token_path(gw)).text

    assert body.startswith("<html>")
    assert "Bad Gateway" in body


def test_js_literal_500_is_the_vendors_printed_form(
    client: httpx2.Client, gw: FakeGateway
) -> None:
    """The literal 500 has unquoted keys, as the vendor's document prints it."""
    gw.inject(Fault.JS_LITERAL_500)

    body = client.get(token_path(gw)).text

    assert body == (
        "{ status: 500, error: 'Identity_Token_Invalid', message: 'identityToken无效' }"
    )


def test_fault_aimed_at_one_endpoint_spares_the_other(
    client: httpx2.Client, gw: FakeGateway
) -> None:
    """``endpoint="account"`` leaves call 1 alone."""
    gw.inject(Fault.HTML_502, endpoint="account")

    token_response = client.get(token_path(gw))
    access_token = token_response.json()["accessToken"]
    account_response = client.get(
        account_path(person(gw)), headers=bearer(access_token)
    )

    assert token_response.status_code == 200
    assert account_response.status_code == 502


def test_fault_lasts_the_given_number_of_times(
    client: httpx2.Client, gw: FakeGateway
) -> None:
    """``times=2`` answers two requests, then the contract speaks again."""
    gw.inject(Fault.HTML_502, times=2)

    statuses = [client.get(token_path(gw)).status_code for _ in range(3)]

    assert statuses == [502, 502, 200]


def test_fault_without_a_count_lasts_until_cleared(
    client: httpx2.Client, gw: FakeGateway
) -> None:
    """``times=None`` keeps failing until ``clear_faults``."""
    gw.inject(Fault.HTML_502, times=None)

    before = [client.get(token_path(gw)).status_code for _ in range(3)]
    gw.clear_faults()
    after = client.get(token_path(gw)).status_code

    assert before == [502, 502, 502]
    assert after == 200


def test_faults_act_in_the_order_injected(
    client: httpx2.Client, gw: FakeGateway
) -> None:
    """Two faults injected in turn answer two requests in turn."""
    gw.inject(Fault.HTML_502)
    gw.inject(Fault.NON_JSON)

    statuses = [client.get(token_path(gw)) for _ in range(3)]

    assert [r.status_code for r in statuses] == [502, 200, 200]
    assert statuses[1].headers["content-type"].startswith("text/plain")
    assert statuses[2].json()["expires"] == 7200


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"fault": Fault.HTML_502, "times": 0}, id="times-zero"),
        pytest.param({"fault": Fault.DELAY}, id="delay-without-seconds"),
        pytest.param({"fault": Fault.HTML_502, "seconds": 1.0}, id="seconds-not-delay"),
        pytest.param({"fault": Fault.HTML_502, "endpoint": "nope"}, id="bad-endpoint"),
    ],
)
def test_inject_refuses_misuse(gw: FakeGateway, kwargs: dict[str, Any]) -> None:
    """Arguments that cannot mean anything raise ValueError at once."""
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        gw.inject(**kwargs)


# -- delays -------------------------------------------------------------------


def test_delay_answers_normally_but_late(
    client: httpx2.Client, gw: FakeGateway
) -> None:
    """A delayed answer is the normal answer, after the delay."""
    gw.inject(Fault.DELAY, seconds=0.2)

    started = time.monotonic()
    response = client.get(token_path(gw))

    assert time.monotonic() - started >= 0.2
    assert response.status_code == 200


def test_transport_delay_beyond_read_timeout_times_out(gw: FakeGateway) -> None:
    """The transport honours the client's read timeout, as a socket would."""
    gw.inject(Fault.DELAY, seconds=5)

    with (
        httpx2.Client(transport=gw.transport(), base_url=BASE, timeout=0.05) as client,
        pytest.raises(httpx2.ReadTimeout),
    ):
        client.get(token_path(gw))


def test_served_delay_beyond_read_timeout_times_out(gw: FakeGateway) -> None:
    """Over real HTTP a late answer trips the client's timeout, then all is well."""
    gw.inject(Fault.DELAY, seconds=0.3)

    with gw.serve() as url, httpx2.Client(base_url=url, timeout=0.1) as client:
        with pytest.raises(httpx2.ReadTimeout):
            client.get(token_path(gw))
        assert client.get(token_path(gw)).status_code == 200


@pytest.mark.anyio
async def test_async_transport_delays_without_blocking_the_loop(
    gw: FakeGateway,
) -> None:
    """Two delayed async calls overlap: the transport sleeps the async way."""
    gw.inject(Fault.DELAY, seconds=0.2, times=2)
    statuses: list[int] = []

    async with httpx2.AsyncClient(transport=gw.transport(), base_url=BASE) as client:

        async def call() -> None:
            statuses.append((await client.get(token_path(gw))).status_code)

        started = time.monotonic()
        async with anyio.create_task_group() as group:
            group.start_soon(call)
            group.start_soon(call)
        elapsed = time.monotonic() - started

    assert statuses == [200, 200]
    assert 0.2 <= elapsed < 0.35


@pytest.mark.anyio
async def test_async_transport_delay_beyond_read_timeout_times_out(
    gw: FakeGateway,
) -> None:
    """The async transport honours the read timeout too."""
    gw.inject(Fault.DELAY, seconds=5)

    async with httpx2.AsyncClient(
        transport=gw.transport(), base_url=BASE, timeout=0.05
    ) as client:
        with pytest.raises(httpx2.ReadTimeout):
            await client.get(token_path(gw))


@pytest.mark.anyio
async def test_asgi_face_delays_without_blocking_the_loop(gw: FakeGateway) -> None:
    """The ASGI face waits with ``anyio.sleep``: delayed answers overlap."""
    gw.inject(Fault.DELAY, seconds=0.2, times=2)
    transport = httpx2.ASGITransport(gw.asgi)

    async with httpx2.AsyncClient(transport=transport, base_url=BASE) as client:
        started = time.monotonic()
        async with anyio.create_task_group() as group:
            group.start_soon(client.get, token_path(gw))
            group.start_soon(client.get, token_path(gw))
        elapsed = time.monotonic() - started

    assert gw.calls["token"] == 2
    assert 0.2 <= elapsed < 0.35


# -- counters and quota -------------------------------------------------------


def test_calls_count_every_request_received(
    client: httpx2.Client, gw: FakeGateway
) -> None:
    """Failed, faulted and unknown requests are counted, each under its endpoint."""
    gw.inject(Fault.HTML_502, endpoint="account")
    client.get(token_path(gw))
    client.get(token_path(gw, secret="wrong"))
    client.get(account_path(person(gw)))
    client.get(account_path(person(gw)))
    client.get("/nowhere")

    assert gw.calls == {"token": 2, "account": 2, "other": 1}


def test_reset_counts_starts_again_from_zero(
    client: httpx2.Client, gw: FakeGateway
) -> None:
    """``reset_counts`` zeroes every counter; earlier snapshots stay as they were."""
    client.get(token_path(gw))
    before = gw.calls

    gw.reset_counts()

    assert before["token"] == 1
    assert gw.calls == {"token": 0, "account": 0, "other": 0}


def test_quota_allows_that_many_successful_calls(
    client: httpx2.Client, gw: FakeGateway
) -> None:
    """Successes on either endpoint spend the quota; then ``LimitExceeded``."""
    gw.set_quota(2)

    access_token = client.get(token_path(gw)).json()["accessToken"]
    resolved = client.get(account_path(person(gw)), headers=bearer(access_token))
    refused = client.get(token_path(gw))

    assert resolved.status_code == 200
    assert refused.json()["error"] == "LimitExceeded"
    assert gw.quota == 0


def test_failed_calls_do_not_spend_quota(
    client: httpx2.Client, gw: FakeGateway
) -> None:
    """Only successful calls count against the quota."""
    gw.set_quota(1)

    client.get(token_path(gw, secret="wrong"))
    client.get(
        account_path("neverRecognised0"), headers=bearer(gw.issue_access_token())
    )

    assert gw.quota == 1
    assert client.get(token_path(gw)).status_code == 200


def test_quota_none_lifts_the_limit(client: httpx2.Client, gw: FakeGateway) -> None:
    """``set_quota(None)`` serves again without limit."""
    gw.set_quota(0)
    gw.set_quota(None)

    statuses = {client.get(token_path(gw)).status_code for _ in range(5)}

    assert statuses == {200}
    assert gw.quota is None


# -- time and tokens ----------------------------------------------------------


def test_injected_clock_expires_access_tokens_after_their_ttl() -> None:
    """An access token is valid up to its ``expires`` seconds, per the clock."""
    now = [VENDOR_NOW]
    gw = FakeGateway(token_ttl=60, clock=lambda: now[0])
    identity_token = gw.issue_identity_token("u1", "Ann", ttl=3600)
    with httpx2.Client(transport=gw.transport(), base_url=BASE) as client:
        access_token = client.get(token_path(gw)).json()["accessToken"]

        now[0] += 59
        valid = client.get(account_path(identity_token), headers=bearer(access_token))
        now[0] += 1
        late = client.get(account_path(identity_token), headers=bearer(access_token))

    assert valid.status_code == 200
    assert late.json()["error"] == "AccessTokenHasExpired"


def test_expiring_one_access_token_spares_the_others(
    client: httpx2.Client, gw: FakeGateway
) -> None:
    """``expire_access_tokens(token)`` expires only that token."""
    doomed, spared = gw.issue_access_token(), gw.issue_access_token()
    identity_token = person(gw)

    gw.expire_access_tokens(doomed)

    path = account_path(identity_token)
    assert client.get(path, headers=bearer(doomed)).status_code == 401
    assert client.get(path, headers=bearer(spared)).status_code == 200


@pytest.mark.parametrize(
    ("control", "code"),
    [
        pytest.param(
            FakeGateway.expire_access_tokens, "AccessTokenHasExpired", id="expire"
        ),
        pytest.param(
            FakeGateway.revoke_access_tokens, "AccessTokenIsInvalid", id="revoke"
        ),
    ],
)
def test_access_token_controls_reach_every_token(
    client: httpx2.Client,
    gw: FakeGateway,
    control: Callable[[FakeGateway], None],
    code: str,
) -> None:
    """Called without tokens, expire and revoke act on every issued token."""
    issued = [client.get(token_path(gw)).json()["accessToken"] for _ in range(2)]
    issued.append(gw.issue_access_token())
    identity_token = person(gw)

    control(gw)

    path = account_path(identity_token)
    errors = {client.get(path, headers=bearer(t)).json()["error"] for t in issued}
    assert errors == {code}


def test_expire_identity_tokens_expires_them_early(
    client: httpx2.Client, gw: FakeGateway
) -> None:
    """``expire_identity_tokens`` makes a fresh identity token expired."""
    identity_token = person(gw)

    gw.expire_identity_tokens()

    response = client.get(
        account_path(identity_token), headers=bearer(gw.issue_access_token())
    )
    assert response.json()["error"] == "Identity_Token_In_Expire"


def test_issued_tokens_fit_the_middlewares_token_shape(gw: FakeGateway) -> None:
    """Identity and access tokens are fresh and match the default pattern."""
    tokens = [person(gw) for _ in range(20)] + [gw.issue_access_token()]

    assert all(TOKEN_SHAPE.fullmatch(token) for token in tokens)
    assert len(set(tokens)) == len(tokens)


# -- construction -------------------------------------------------------------


def test_default_gateway_works_with_demo_credentials() -> None:
    """``FakeGateway()`` needs no arguments and serves its own credentials."""
    gw = FakeGateway()

    with httpx2.Client(transport=gw.transport(), base_url=BASE) as client:
        response = client.get(token_path(gw))

    assert gw.appid == "demo-appid"
    assert gw.secret.startswith("demo-secret-")
    assert response.json()["expires"] == 7200


def test_custom_credentials_and_ttl_are_used() -> None:
    """The appid, secret and ``token_ttl`` given are the ones the gateway checks."""
    gw = FakeGateway(
        "a44r4aMbO7BZ1NoW", "a4474wRq9BwujRV7hM4SGH0QMyrEJF5J", token_ttl=60
    )

    with httpx2.Client(transport=gw.transport(), base_url=BASE) as client:
        response = client.get(token_path(gw))

    assert response.json()["expires"] == 60


def test_repr_hides_secret_and_tokens(client: httpx2.Client, gw: FakeGateway) -> None:
    """Neither the secret nor any token shows in the repr."""
    access_token = client.get(token_path(gw)).json()["accessToken"]
    identity_token = person(gw)

    text = repr(gw)

    assert gw.appid in text
    for hidden in (gw.secret, access_token, identity_token):
        assert hidden not in text


@pytest.mark.parametrize(
    "misuse",
    [
        pytest.param(lambda: FakeGateway(token_ttl=0), id="zero-token-ttl"),
        pytest.param(lambda: FakeGateway().set_quota(-1), id="negative-quota"),
        pytest.param(
            lambda: FakeGateway().issue_identity_token("u", "n", ttl=-1),
            id="negative-identity-ttl",
        ),
    ],
)
def test_controls_refuse_impossible_values(misuse: Callable[[], object]) -> None:
    """Negative or zero lifetimes and quotas raise ValueError."""
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        misuse()


def test_public_names_are_exported() -> None:
    """The testing package exports a sorted ``__all__`` of names it defines."""
    assert testing.__all__ == sorted(testing.__all__)
    assert all(hasattr(testing, name) for name in testing.__all__)


# -- the faces themselves -----------------------------------------------------


def test_serve_yields_a_local_base_url_and_stops_on_exit(gw: FakeGateway) -> None:
    """``serve()`` listens on 127.0.0.1 while the block runs, and not after."""
    with gw.serve() as url:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        assert httpx2.get(url + token_path(gw)).status_code == 200

    with pytest.raises(httpx2.ConnectError):
        httpx2.get(url + token_path(gw))


def test_served_face_handles_concurrent_requests(gw: FakeGateway) -> None:
    """Parallel requests are all answered and all counted, each token fresh."""
    tokens: list[str] = []

    def fetch(url: str) -> None:
        tokens.append(httpx2.get(url + token_path(gw)).json()["accessToken"])

    with gw.serve() as url:
        threads = [threading.Thread(target=fetch, args=(url,)) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert len(set(tokens)) == 12
    assert gw.calls["token"] == 12


@pytest.mark.anyio
async def test_asgi_face_acknowledges_lifespan(gw: FakeGateway) -> None:
    """Startup and shutdown are acknowledged, so any ASGI server can host it."""
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: Any) -> None:
        sent.append(message)

    await gw.asgi({"type": "lifespan"}, receive, send)

    assert [m["type"] for m in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]


@pytest.mark.anyio
async def test_asgi_face_closes_websockets(gw: FakeGateway) -> None:
    """A websocket is closed at once: the gateway speaks only HTTP."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: Any) -> None:
        sent.append(message)

    await gw.asgi({"type": "websocket", "path": "/"}, receive, send)

    assert sent == [{"type": "websocket.close", "code": 1008}]


def test_wsgi_face_answers_under_a_foreign_server(gw: FakeGateway) -> None:
    """Without the raw path, the WSGI face works from ``PATH_INFO``."""
    identity_token = person(gw)
    statuses: list[str] = []
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": account_path(identity_token),
        "QUERY_STRING": "",
        "HTTP_AUTHORIZATION": f"Bearer {gw.issue_access_token()}",
    }

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: object = None
    ) -> Callable[[bytes], object]:
        statuses.append(status)
        return lambda data: None

    body = gw.wsgi(environ, start_response)

    assert statuses == ["200 OK"]
    assert json.loads(b"".join(body))["uid"] == "f3292423"
