"""``Identity`` from the gateway's answer, and the users a request sees."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.authentication import BaseUser

from y2w_middleware import AnonymousUser, Identity, User
from y2w_middleware.errors import GatewayUnavailable

TOKEN = "9bqzkNIrbeEpA5Ar"

#: The account answer of gateway-contract.md, call 2, exactly.
VENDOR_ANSWER = {
    "id": TOKEN,
    "uid": "f3292423",
    "name": "张德强",
    "expire": "2019-12-26T06:25:02.000Z",
    "createdAt": "2019-12-26T06:20:02.000Z",
    "updatedAt": "2019-12-26T06:20:02.000Z",
}


def answer(**changes: Any) -> dict[str, Any]:
    """The vendor's answer with *changes*; a value of ``...`` drops the key."""
    data = {**VENDOR_ANSWER, **changes}
    return {key: value for key, value in data.items() if value is not ...}


class TestIdentityFromGateway:
    def test_vendor_example(self) -> None:
        """The contract's example parses into its fields with aware UTC times."""
        identity = Identity.from_gateway(VENDOR_ANSWER)

        assert (identity.id, identity.uid, identity.name) == (
            TOKEN,
            "f3292423",
            "张德强",
        )
        assert identity.expire == datetime(2019, 12, 26, 6, 25, 2, tzinfo=UTC)
        assert identity.created_at == datetime(2019, 12, 26, 6, 20, 2, tzinfo=UTC)
        assert identity.updated_at == identity.created_at
        for moment in (identity.expire, identity.created_at, identity.updated_at):
            assert moment.utcoffset() == timedelta(0)

    def test_milliseconds_are_kept(self) -> None:
        """The milliseconds of a gateway time survive parsing."""
        identity = Identity.from_gateway(answer(expire="2019-12-26T06:25:02.123Z"))

        assert identity.expire.microsecond == 123000

    def test_other_zones_become_utc(self) -> None:
        """A time given with an offset is the same instant, expressed in UTC."""
        identity = Identity.from_gateway(answer(expire="2019-12-26T14:25:02+08:00"))

        assert identity.expire == datetime(2019, 12, 26, 6, 25, 2, tzinfo=UTC)
        assert identity.expire.tzinfo is UTC

    @pytest.mark.parametrize(
        "data",
        [
            pytest.param(None, id="null"),
            pytest.param([VENDOR_ANSWER], id="list"),
            pytest.param(json.dumps(VENDOR_ANSWER), id="json-text"),
            pytest.param(42, id="number"),
            pytest.param(answer(id=...), id="id-missing"),
            pytest.param(answer(id=""), id="id-empty"),
            pytest.param(answer(id=123), id="id-number"),
            pytest.param(answer(uid=...), id="uid-missing"),
            pytest.param(answer(uid=None), id="uid-null"),
            pytest.param(answer(uid=3292423), id="uid-number"),
            pytest.param(answer(name=...), id="name-missing"),
            pytest.param(answer(name=["张德强"]), id="name-list"),
            pytest.param(answer(expire=...), id="expire-missing"),
            pytest.param(answer(expire=1577341502), id="expire-number"),
            pytest.param(answer(expire=None), id="expire-null"),
            pytest.param(answer(createdAt=...), id="createdAt-missing"),
            pytest.param(answer(updatedAt=...), id="updatedAt-missing"),
            pytest.param(answer(expire="2019-12-26T06:25:02"), id="naive"),
            pytest.param(answer(createdAt="2019-12-26 06:20"), id="naive-short"),
            pytest.param(answer(expire="yesterday"), id="garbage"),
            pytest.param(answer(updatedAt=""), id="empty-time"),
            pytest.param(answer(expire="2019-13-45T99:00:00Z"), id="impossible"),
            pytest.param(answer(expire="0001-01-01T00:00:00+01:00"), id="year-0"),
            pytest.param(answer(expire="9999-12-31T23:59:59-01:00"), id="year-1e4"),
        ],
    )
    def test_malformed_answer_is_a_gateway_fault(self, data: object) -> None:
        """Any missing or odd field raises GatewayUnavailable, nothing else."""
        with pytest.raises(GatewayUnavailable):
            Identity.from_gateway(data)

    def test_fault_never_repeats_the_token(self) -> None:
        """The error for a bad answer does not quote the identity token."""
        with pytest.raises(GatewayUnavailable) as info:
            Identity.from_gateway(answer(expire="garbage"))

        assert TOKEN not in str(info.value)


class TestIdentity:
    @pytest.mark.parametrize(
        "render", [pytest.param(repr, id="repr"), pytest.param(str, id="str")]
    )
    def test_token_is_masked(self, render: Any) -> None:
        """``id`` is the identity token, so no rendering shows it."""
        text = render(Identity.from_gateway(VENDOR_ANSWER))

        assert TOKEN not in text
        assert "f3292423" in text

    def test_to_json_is_the_gateway_form(self) -> None:
        """``to_json`` gives back the gateway's own answer, byte for byte."""
        assert Identity.from_gateway(VENDOR_ANSWER).to_json() == VENDOR_ANSWER

    def test_to_json_round_trip(self) -> None:
        """Parsing ``to_json`` gives back an equal identity."""
        identity = Identity.from_gateway(answer(expire="2019-12-26T14:25:02.5+08:00"))

        assert Identity.from_gateway(identity.to_json()) == identity

    def test_is_frozen(self) -> None:
        """An identity cannot be changed once parsed."""
        identity = Identity.from_gateway(VENDOR_ANSWER)

        with pytest.raises(AttributeError):
            identity.uid = "someone-else"  # type: ignore[misc]


LOGIN_AT = datetime(2024, 5, 1, 8, 0, 0, tzinfo=UTC)
EXPIRES = LOGIN_AT + timedelta(hours=8)


def make_user(**changes: Any) -> User:
    """A user logged in at ``LOGIN_AT`` for eight hours."""
    fields = {
        "uid": "f3292423",
        "name": "张德强",
        "login_at": LOGIN_AT,
        "session_expires": EXPIRES,
        "session_id": "sid-1",
    }
    return User(**{**fields, **changes})


class TestUser:
    def test_is_authenticated(self) -> None:
        """A session's user is authenticated."""
        assert make_user().is_authenticated is True

    def test_display_name_is_the_name(self) -> None:
        """Starlette's ``display_name`` is the person's name."""
        assert make_user().display_name == "张德强"

    def test_identity_is_the_uid(self) -> None:
        """Starlette's ``identity`` is the uid."""
        assert make_user().identity == "f3292423"

    def test_fields(self) -> None:
        """The constructor's values are the user's attributes."""
        user = make_user()

        assert (user.uid, user.name, user.session_id) == ("f3292423", "张德强", "sid-1")
        assert (user.login_at, user.session_expires) == (LOGIN_AT, EXPIRES)

    def test_to_json_shape(self) -> None:
        """The JSON user is uid, name and the ISO 8601 session expiry."""
        data = make_user().to_json()

        assert set(data) == {"uid", "name", "session_expires"}
        assert (data["uid"], data["name"]) == ("f3292423", "张德强")
        assert datetime.fromisoformat(data["session_expires"]) == EXPIRES
        json.dumps(data)  # serialisable as it stands

    def test_to_json_carries_no_session_id(self) -> None:
        """The revocation id stays out of the JSON user."""
        assert "sid-1" not in json.dumps(make_user().to_json())

    def test_equality_is_uid_and_session(self) -> None:
        """Two users are equal when uid and session id match."""
        assert make_user() == make_user(name="renamed")
        assert hash(make_user()) == hash(make_user(name="renamed"))
        assert make_user() != make_user(session_id="sid-2")
        assert make_user() != make_user(uid="other")

    def test_is_a_starlette_user(self) -> None:
        """``User`` follows Starlette's ``BaseUser`` so ``request.user`` works."""
        assert isinstance(make_user(), BaseUser)


class TestAnonymousUser:
    def test_is_not_authenticated(self) -> None:
        """A request without a session is not authenticated."""
        assert AnonymousUser().is_authenticated is False

    def test_has_no_name_or_identity(self) -> None:
        """An anonymous user has an empty display name and identity."""
        user = AnonymousUser()

        assert (user.display_name, user.identity) == ("", "")

    def test_reads_like_a_user_with_empty_fields(self) -> None:
        """``uid`` and ``name`` exist and are empty, so code can read either user."""
        user = AnonymousUser()

        assert (user.uid, user.name) == ("", "")

    def test_is_a_starlette_user(self) -> None:
        """``AnonymousUser`` follows Starlette's ``BaseUser``."""
        assert isinstance(AnonymousUser(), BaseUser)
