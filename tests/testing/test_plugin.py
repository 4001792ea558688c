"""The pytest plugin: its fixtures, as a user's own test suite sees them."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

PLUGIN_ARGS = ("-p", "y2w_middleware.testing._plugin")

USER_TESTS = """
import httpx2

TOKEN_QUERY = "/v1/token?grant_type=client_credential&appid={}&secret={}"


def test_fake_gateway_is_fresh(fake_gateway):
    assert fake_gateway.calls == {"token": 0, "account": 0, "other": 0}


def test_url_serves_that_same_gateway(fake_gateway, fake_gateway_url):
    gw = fake_gateway
    query = TOKEN_QUERY.format(gw.appid, gw.secret)
    with httpx2.Client(base_url=fake_gateway_url) as client:
        response = client.get(query)
    assert response.status_code == 200
    assert gw.calls["token"] == 1


def test_env_points_at_the_served_fake(y2w_env, fake_gateway, fake_gateway_url):
    assert y2w_env["Y2W_APPID"] == fake_gateway.appid
    assert y2w_env["Y2W_SECRET"] == fake_gateway.secret
    assert y2w_env["Y2W_GATEWAY_URL"] == fake_gateway_url
    assert y2w_env["Y2W_COOKIE_SECURE"] == "false"
    assert len(y2w_env["Y2W_SESSION_SECRET"]) >= 32
"""


@pytest.fixture(autouse=True)
def _no_autoload(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner runs load only the plugin under test.

    Installed plugins stay out: the ``y2w`` entry point would register this
    same module a second time, and others (pytest-asyncio) would warn.
    """
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def test_fixtures_work_in_a_users_suite(pytester: pytest.Pytester) -> None:
    """A suite loading the plugin gets a gateway, its served URL and settings."""
    pytester.makepyfile(test_user=USER_TESTS)

    result = pytester.runpytest(*PLUGIN_ARGS)

    result.assert_outcomes(passed=3)


def test_each_test_gets_its_own_gateway(pytester: pytest.Pytester) -> None:
    """State set in one test does not leak into the next."""
    pytester.makepyfile(
        test_user="""
        def test_first(fake_gateway):
            fake_gateway.set_quota(0)

        def test_second(fake_gateway):
            assert fake_gateway.quota is None
        """
    )

    result = pytester.runpytest(*PLUGIN_ARGS)

    result.assert_outcomes(passed=2)


def test_session_secret_differs_between_tests(pytester: pytest.Pytester) -> None:
    """Every test signs with a new random session secret."""
    pytester.makepyfile(
        test_user="""
        seen = []

        def test_first(y2w_env):
            seen.append(y2w_env["Y2W_SESSION_SECRET"])

        def test_second(y2w_env):
            assert y2w_env["Y2W_SESSION_SECRET"] not in seen
        """
    )

    result = pytester.runpytest(*PLUGIN_ARGS)

    result.assert_outcomes(passed=2)


def test_y2w_env_builds_settings(pytester: pytest.Pytester) -> None:
    """``Settings.from_env`` accepts the fixture's settings as they are."""
    pytester.makepyfile(
        test_user="""
        from y2w_middleware import Settings

        def test_settings(y2w_env, fake_gateway_url):
            settings = Settings.from_env(y2w_env)
            assert settings.gateway_url == fake_gateway_url
            assert settings.cookie_secure is False
        """
    )

    result = pytester.runpytest(*PLUGIN_ARGS)

    result.assert_outcomes(passed=1)
