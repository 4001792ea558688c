"""Signed cookies: the login session and the identity waiting to be bound."""

from __future__ import annotations

import dataclasses
import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from itsdangerous import URLSafeSerializer

from y2w_middleware import Identity, Settings
from y2w_middleware import _session as session_module
from y2w_middleware._cookies import DUPLICATE, MAX_COOKIE_SIZE
from y2w_middleware._session import PendingCodec, SessionCodec

#: 2024-05-01T08:00:00Z: every clock here starts at this instant.
NOW = 1714550400.0
LOGIN_AT = datetime(2024, 5, 1, 8, 0, 0, tzinfo=UTC)
MAX_AGE = 28800

APP_SECRET = "AppSecret-Zq8Lx1Vv3"
NEW_KEY = "SessionKey-Mw4Tt7Rr9Kp2"
OLD_KEY = "OldSessionKey-Hb6Nn0Yy5"
TOKEN = "9bqzkNIrbeEpA5Ar"

VENDOR_ANSWER = {
    "id": TOKEN,
    "uid": "f3292423",
    "name": "张德强",
    "expire": "2019-12-26T06:25:02.000Z",
    "createdAt": "2019-12-26T06:20:02.000Z",
    "updatedAt": "2019-12-26T06:20:02.000Z",
}


class Clock:
    """A clock that moves only when told to."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def settings(**overrides: Any) -> Settings:
    """Valid settings signing with ``NEW_KEY``, with *overrides*."""
    values: dict[str, Any] = {
        "appid": "app",
        "secret": APP_SECRET,
        "session_secret": NEW_KEY,
        **overrides,
    }
    return Settings(**values)


def codec(clock: Clock | None = None, **overrides: Any) -> SessionCodec:
    """A session codec with its own empty cache, on *clock* (default ``NOW``)."""
    return SessionCodec(settings(**overrides), clock=clock or Clock())


def flip(value: str, index: int) -> str:
    """*value* with the character at *index* replaced by another one."""
    replacement = "B" if value[index] == "A" else "A"
    return value[:index] + replacement + value[index + 1 :]


def payload_of(value: str) -> str:
    """The JSON payload inside a signed value, read without checking it."""
    _, payload = URLSafeSerializer("any key").loads_unsafe(value)
    return repr(payload)


class TestRoundTrip:
    @pytest.mark.parametrize(
        "same_codec",
        [pytest.param(True, id="cached"), pytest.param(False, id="verified")],
    )
    def test_read_gives_back_the_session(self, same_codec: bool) -> None:
        """A cookie reads back as the same person, session and times."""
        issuer = codec()
        value, issued = issuer.issue("f3292423", "张德强")
        reader = issuer if same_codec else codec()

        user = reader.read(value)

        assert user is not None
        assert (user.uid, user.name, user.session_id) == (
            "f3292423",
            "张德强",
            issued.session_id,
        )
        assert user.login_at == issued.login_at == LOGIN_AT
        expected_end = LOGIN_AT + timedelta(seconds=MAX_AGE)
        assert user.session_expires == issued.session_expires == expected_end

    def test_session_ids_are_random(self) -> None:
        """Two logins of the same person get different session ids."""
        issuer = codec()

        first = issuer.issue("f3292423", "张德强")[1].session_id
        second = issuer.issue("f3292423", "张德强")[1].session_id

        assert first
        assert first != second

    def test_login_time_is_whole_seconds(self) -> None:
        """The login time is kept to the second, the same on issue and read."""
        value, issued = codec(Clock(NOW + 0.75)).issue("u", "n")

        user = codec(Clock(NOW + 1)).read(value)

        assert user is not None
        assert user.login_at == issued.login_at == LOGIN_AT

    def test_now_is_the_codec_clock(self) -> None:
        """``now`` reads the injected clock."""
        assert codec(Clock(NOW + 5)).now() == NOW + 5


class TestRefused:
    def value(self) -> str:
        return codec().issue("f3292423", "张德强")[0]

    def test_flipped_payload(self) -> None:
        """A cookie whose payload was changed is refused."""
        value = self.value()

        assert codec().read(flip(value, 0)) is None

    def test_flipped_signature(self) -> None:
        """A cookie whose signature was changed is refused."""
        value = self.value()
        signature_start = value.rindex(".") + 1

        assert codec().read(flip(value, signature_start)) is None

    def test_tampered_after_caching(self) -> None:
        """Caching the true value does not make a changed value pass."""
        issuer = codec()
        value, _ = issuer.issue("f3292423", "张德强")

        assert issuer.read(value) is not None
        assert issuer.read(flip(value, 0)) is None

    def test_payload_of_another_cookie(self) -> None:
        """One cookie's payload with another's signature is refused."""
        first, second = self.value(), codec().issue("other", "某人")[0]
        spliced = first[: first.rindex(".")] + second[second.rindex(".") :]

        assert codec().read(spliced) is None

    @pytest.mark.parametrize(
        "cut",
        [pytest.param(-1, id="last-char"), pytest.param(-20, id="half-signature")],
    )
    def test_truncated(self, cut: int) -> None:
        """A cookie cut short is refused."""
        assert codec().read(self.value()[:cut]) is None

    @pytest.mark.parametrize(
        "value",
        [
            pytest.param("", id="empty"),
            pytest.param("garbage", id="no-dot"),
            pytest.param("a.b", id="dotted-garbage"),
            pytest.param("....", id="dots"),
            pytest.param("中文.签名", id="non-ascii"),
            pytest.param(DUPLICATE, id="duplicate-marker"),
        ],
    )
    def test_garbage(self, value: str) -> None:
        """Values that are not a signed session are refused quietly."""
        assert codec().read(value) is None

    def test_other_key(self) -> None:
        """A cookie signed with a key we do not hold is refused."""
        value = codec(session_secret="SomebodyElsesKey-000").issue("u", "n")[0]

        assert codec().read(value) is None

    def test_oversized(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A validly signed value over 4096 characters is refused by its size."""
        # Random text does not compress, so the cookie stays long.
        value = codec().issue("u", secrets.token_urlsafe(4000))[0]
        assert len(value) > MAX_COOKIE_SIZE

        assert codec().read(value) is None
        # The same value passes once the limit is lifted: size was the reason.
        monkeypatch.setattr(session_module, "MAX_COOKIE_SIZE", 2 * len(value))
        assert codec().read(value) is not None

    def test_oversized_is_refused_by_its_issuer_too(self) -> None:
        """The process that issued an oversized cookie refuses it like any other.

        Browsers drop cookies over 4 KiB, and every other process of a
        fleet refuses them: the issuer's cache must not make it valid here.
        """
        issuer = codec()
        value = issuer.issue("u", secrets.token_urlsafe(4000))[0]
        assert len(value) > MAX_COOKIE_SIZE

        assert issuer.read(value) is None

    def test_refusal_log_holds_no_cookie_value(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A refused cookie is logged at DEBUG without its value."""
        tampered = flip(self.value(), 0)

        with caplog.at_level(logging.DEBUG, logger="y2w_middleware"):
            assert codec().read(tampered) is None

        assert caplog.records
        for record in caplog.records:
            assert tampered not in record.getMessage()
            assert tampered[:20] not in record.getMessage()


class TestExpiry:
    def test_fresh_codec_refuses_expired(self) -> None:
        """A session read at or after its expiry is refused."""
        value, _ = codec().issue("u", "n")

        assert codec(Clock(NOW + MAX_AGE - 1)).read(value) is not None
        assert codec(Clock(NOW + MAX_AGE)).read(value) is None

    def test_cached_session_still_expires(self) -> None:
        """The verified-cookie cache does not keep an expired session alive."""
        clock = Clock()
        reader = codec(clock)
        value, _ = reader.issue("u", "n")
        assert reader.read(value) is not None

        clock.advance(MAX_AGE)

        assert reader.read(value) is None
        assert reader.read(value) is None  # and stays refused

    def test_future_dated_is_refused(self) -> None:
        """A cookie issued far ahead of our clock was not issued by us."""
        value, _ = codec(Clock(NOW + 86400)).issue("u", "n")

        assert codec(Clock(NOW)).read(value) is None

    def test_small_clock_skew_is_tolerated(self) -> None:
        """A cookie from a process whose clock runs slightly ahead is accepted."""
        value, _ = codec(Clock(NOW + 30)).issue("u", "n")

        assert codec(Clock(NOW)).read(value) is not None

    def test_lowered_max_age_shortens_old_sessions(self) -> None:
        """Lowering the session lifetime also ends sessions issued before."""
        value, _ = codec().issue("u", "n")

        shorter = codec(Clock(NOW + 3599), session_max_age=3600).read(value)
        assert shorter is not None
        assert shorter.session_expires == LOGIN_AT + timedelta(seconds=3600)
        assert codec(Clock(NOW + 3600), session_max_age=3600).read(value) is None

    def test_raised_max_age_does_not_lengthen_old_sessions(self) -> None:
        """A session keeps the end it was issued with when the lifetime grows."""
        value, _ = codec(session_max_age=3600).issue("u", "n")

        assert codec(Clock(NOW + 3600)).read(value) is None


class TestKeyRotation:
    def test_old_key_in_fallbacks_still_reads(self) -> None:
        """A cookie signed with the old key is accepted while it is a fallback."""
        value, _ = codec(session_secret=OLD_KEY).issue("u", "n")
        rotated = codec(session_secret=NEW_KEY, session_secret_fallbacks=[OLD_KEY])

        assert rotated.read(value) is not None

    def test_old_key_dropped_is_refused(self) -> None:
        """Once the old key leaves the fallbacks its cookies are refused."""
        value, _ = codec(session_secret=OLD_KEY).issue("u", "n")

        assert codec(session_secret=NEW_KEY).read(value) is None

    def test_new_cookies_use_the_new_key_only(self) -> None:
        """Cookies are signed with the current key, never with a fallback."""
        rotated = codec(session_secret=NEW_KEY, session_secret_fallbacks=[OLD_KEY])
        value, _ = rotated.issue("u", "n")

        assert codec(session_secret=OLD_KEY).read(value) is None
        assert codec(session_secret=NEW_KEY).read(value) is not None


class TestCookieContents:
    def test_session_holds_no_secret(self) -> None:
        """A session cookie shows neither the app secret nor any signing key."""
        value, _ = codec(session_secret_fallbacks=[OLD_KEY]).issue("f3292423", "n")
        payload = payload_of(value)

        assert "f3292423" in payload  # the payload was really decoded
        for secret in (APP_SECRET, NEW_KEY, OLD_KEY):
            assert secret not in value
            assert secret not in payload

    def test_pending_holds_no_token_or_secret(self) -> None:
        """A pending cookie carries the person, never the identity token."""
        value = PendingCodec(settings(), clock=Clock()).issue(
            Identity.from_gateway(VENDOR_ANSWER)
        )
        payload = payload_of(value)

        assert "f3292423" in payload  # the payload was really decoded
        for secret in (TOKEN, APP_SECRET, NEW_KEY):
            assert secret not in value
            assert secret not in payload


class TestSalts:
    def test_pending_value_is_not_a_session(self) -> None:
        """A pending-identity cookie cannot be replayed as a login session."""
        pending = PendingCodec(settings(), clock=Clock()).issue(
            Identity.from_gateway(VENDOR_ANSWER)
        )

        assert codec().read(pending) is None

    def test_session_value_is_not_pending(self) -> None:
        """A session cookie cannot be read as an identity waiting to be bound."""
        value, _ = codec().issue("f3292423", "张德强")

        assert PendingCodec(settings(), clock=Clock()).read(value) is None


class TestVerifiedCache:
    # The cache is private; its size bound is the behaviour under test, so
    # the tests look at ``_verified`` and the ``_CACHE_SIZE`` cap directly.
    CAP = session_module._CACHE_SIZE

    def test_issuing_stays_bounded(self) -> None:
        """Issuing more sessions than the cap never grows the cache past it."""
        issuer = codec()

        for n in range(self.CAP + 50):
            issuer.issue(f"u{n}", "n")
            assert len(issuer._verified) <= self.CAP

        assert len(issuer._verified) == self.CAP

    def test_reading_stays_bounded(self) -> None:
        """Reading more distinct sessions than the cap never grows the cache past it."""
        issuer = codec()
        values = [issuer.issue(f"u{n}", "n")[0] for n in range(self.CAP + 50)]
        reader = codec()

        for value in values:
            assert reader.read(value) is not None
        assert len(reader._verified) == self.CAP

    def test_evicted_session_is_verified_again(self) -> None:
        """A session pushed out of the cache is still valid when it returns."""
        issuer = codec()
        first, _ = issuer.issue("first", "n")
        for n in range(self.CAP):
            issuer.issue(f"u{n}", "n")
        assert first not in issuer._verified

        user = issuer.read(first)

        assert user is not None
        assert user.uid == "first"


class _OtherThreadDropsFirst(dict[str, Any]):
    """A cache that another thread changes between two steps of ``read``.

    A WSGI server shares one codec between its worker threads, and the GIL
    may switch threads between any two bytecodes. This dict plays the other
    thread deterministically: right after this thread has looked an entry
    up, the other one removes it (as it would while handling the same
    expired cookie, or while evicting the same oldest entry).
    """

    def get(self, key: str, default: Any = None) -> Any:
        found = super().get(key, default)
        super().pop(key, None)  # the other thread's delete lands here
        return found

    def __iter__(self) -> Any:
        oldest = next(super().__iter__())
        super().pop(oldest, None)  # the other thread evicts it first
        return iter([oldest])


class _OtherThreadEvictsAndAdds(dict[str, Any]):
    """A full cache where another thread runs a whole ``_remember`` meanwhile.

    The first time this thread picks the oldest entry to evict, the other
    thread evicts that same entry and stores its own new session.
    """

    raced = False

    def __iter__(self) -> Any:
        oldest = next(super().__iter__())
        if not self.raced:
            self.raced = True
            super().pop(oldest, None)
            self["other-thread-cookie"] = None
        return iter([oldest])


class TestThreadSafety:
    # Both tests reach into the private cache: its races are the behaviour.

    def test_expired_cookie_read_by_two_threads(self) -> None:
        """Two threads dropping the same expired cached cookie both get None."""
        clock = Clock()
        reader = codec(clock)
        value, _ = reader.issue("u", "n")
        reader._verified = _OtherThreadDropsFirst(reader._verified)
        clock.advance(MAX_AGE)

        assert reader.read(value) is None

    def test_full_cache_evicted_by_two_threads(self) -> None:
        """Two threads evicting the same oldest entry of a full cache both go on."""
        issuer = codec()
        for n in range(session_module._CACHE_SIZE):
            issuer.issue(f"u{n}", "n")
        issuer._verified = _OtherThreadDropsFirst(issuer._verified)

        value, _ = issuer.issue("one-more", "n")

        assert value in issuer._verified

    def test_lost_eviction_race_does_not_grow_the_cache(self) -> None:
        """After two threads raced to evict, the next session restores the cap."""
        issuer = codec()
        for n in range(session_module._CACHE_SIZE):
            issuer.issue(f"u{n}", "n")
        issuer._verified = _OtherThreadEvictsAndAdds(issuer._verified)
        issuer.issue("raced", "n")  # both threads stored one; one was evicted

        issuer.issue("next", "n")

        size = len(issuer._verified)  # not the dict itself: 8 k entries
        assert size <= session_module._CACHE_SIZE


def pending_codec(clock: Clock | None = None, **overrides: Any) -> PendingCodec:
    """A pending-identity codec on *clock* (default ``NOW``)."""
    return PendingCodec(settings(**overrides), clock=clock or Clock())


class TestPendingCodec:
    IDENTITY = Identity.from_gateway(VENDOR_ANSWER)

    def test_round_trip_drops_the_token(self) -> None:
        """The identity reads back whole, except its token, which is empty."""
        value = pending_codec().issue(self.IDENTITY)

        identity = pending_codec().read(value)

        assert identity == dataclasses.replace(self.IDENTITY, id="")
        assert identity is not None
        assert identity.expire == datetime(2019, 12, 26, 6, 25, 2, tzinfo=UTC)

    def test_expires_after_pending_max_age(self) -> None:
        """The identity waits ``pending_max_age`` seconds, then is refused."""
        value = pending_codec().issue(self.IDENTITY)

        assert pending_codec(Clock(NOW + 599)).read(value) is not None
        assert pending_codec(Clock(NOW + 600)).read(value) is None

    def test_max_age_follows_settings(self) -> None:
        """``max_age`` is the configured ``pending_max_age``."""
        assert pending_codec(pending_max_age=120).max_age == 120

    @pytest.mark.parametrize(
        "change",
        [
            pytest.param(lambda v: flip(v, 0), id="payload"),
            pytest.param(lambda v: flip(v, v.rindex(".") + 1), id="signature"),
            pytest.param(lambda v: v[:-1], id="truncated"),
        ],
    )
    def test_tampered_is_refused(self, change: Any) -> None:
        """A changed pending cookie is refused."""
        value = pending_codec().issue(self.IDENTITY)

        assert pending_codec().read(change(value)) is None

    @pytest.mark.parametrize(
        "value",
        [
            pytest.param(None, id="none"),
            pytest.param("", id="empty"),
            pytest.param("garbage", id="garbage"),
            pytest.param(DUPLICATE, id="duplicate-marker"),
            pytest.param("x" * (MAX_COOKIE_SIZE + 1), id="oversized"),
        ],
    )
    def test_no_valid_value(self, value: str | None) -> None:
        """No cookie, or one that is not ours, gives None."""
        assert pending_codec().read(value) is None

    def test_old_key_in_fallbacks_still_reads(self) -> None:
        """Pending cookies rotate keys like sessions do."""
        value = pending_codec(session_secret=OLD_KEY).issue(self.IDENTITY)
        rotated = pending_codec(session_secret_fallbacks=[OLD_KEY])

        assert rotated.read(value) is not None


class TestForeignLayouts:
    # Payloads signed with the right key and salt but not of the layout we
    # write: a cookie from another version of this package must read as
    # no session, not crash. The codec's own serializer signs them.

    NOW = 1_800_000_000

    @pytest.mark.parametrize(
        "payload",
        [
            pytest.param({"uid": "u"}, id="not-a-list"),
            pytest.param([1, "u", "n", "sid", NOW], id="too-short"),
            pytest.param([2, "u", "n", "sid", NOW, NOW + 60], id="other-version"),
            pytest.param([1, 7, "n", "sid", NOW, NOW + 60], id="uid-not-text"),
            pytest.param([1, "u", "n", "sid", "then", NOW + 60], id="time-not-int"),
            pytest.param([1, "u", "n", "sid", NOW, True], id="bool-is-no-time"),
        ],
    )
    def test_session_of_another_layout_is_refused(self, payload: object) -> None:
        """A signed session payload of another layout reads as no session."""
        reader = codec(Clock(self.NOW))

        value = reader._serializer.dumps(payload)

        assert reader.read(value) is None

    @pytest.mark.parametrize(
        "payload",
        [
            pytest.param(["u", "n"], id="too-short"),
            pytest.param([2, "u", "n", "e", "c", "u", NOW + 60], id="other-version"),
            pytest.param([1, "u", "n", "e", "c", "u", "later"], id="expiry-not-int"),
            pytest.param(
                [1, "u", "n", "not-a-time", "c", "u", NOW + 60], id="bad-times"
            ),
        ],
    )
    def test_pending_of_another_layout_is_refused(self, payload: object) -> None:
        """A signed pending payload of another layout reads as no identity."""
        reader = pending_codec(Clock(self.NOW))

        value = reader._serializer.dumps(payload)

        assert reader.read(value) is None
