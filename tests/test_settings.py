"""``Settings``: reading ``Y2W_*`` variables, validating them, hiding secrets."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from y2w_middleware import Secret, Settings
from y2w_middleware.errors import ConfigError

# Distinctive values, so a leak anywhere is found by a plain substring test.
APP_SECRET = "AppSecret-Zq8Lx1Vv3"
SESSION_SECRET = "SessionKey-Mw4Tt7Rr9Kp2"
OLD_KEY = "OldSessionKey-Hb6Nn0Yy5"
REDIS_PASSWORD = "RedisPw-Gf3Jj8Ss1"
SECRETS = [APP_SECRET, SESSION_SECRET, OLD_KEY, REDIS_PASSWORD]

REQUIRED = {
    "Y2W_APPID": "a44r4aMbO7BZ1NoW",
    "Y2W_SECRET": APP_SECRET,
    "Y2W_SESSION_SECRET": SESSION_SECRET,
}


def from_env(**env: str) -> Settings:
    """Settings from the required variables plus *env*, nothing else."""
    return Settings.from_env(environ={**REQUIRED, **env})


def config_error(**env: str) -> ConfigError:
    """The ConfigError that the required variables plus *env* raise."""
    with pytest.raises(ConfigError) as info:
        from_env(**env)
    return info.value


class TestFromEnv:
    @pytest.mark.parametrize(
        ("field", "default"),
        [
            pytest.param("session_secret_fallbacks", (), id="fallbacks"),
            pytest.param("gateway_url", "http://gateway.api.yun2win.com", id="url"),
            pytest.param("timeout", 5.0, id="timeout"),
            pytest.param("session_max_age", 28800, id="session_max_age"),
            pytest.param("cookie_name", "y2w_session", id="cookie_name"),
            pytest.param("cookie_secure", True, id="cookie_secure"),
            pytest.param("cookie_samesite", "lax", id="cookie_samesite"),
            pytest.param("cookie_domain", None, id="cookie_domain"),
            pytest.param("cookie_path", "/", id="cookie_path"),
            pytest.param("token_param", "identityToken", id="token_param"),
            pytest.param("token_header", "X-Identity-Token", id="token_header"),
            pytest.param("token_pattern", r"^[A-Za-z0-9_-]{8,128}$", id="pattern"),
            pytest.param("prefix", "/y2w", id="prefix"),
            pytest.param("login_url", None, id="login_url"),
            pytest.param("bind_url", None, id="bind_url"),
            pytest.param("expose_access_token", False, id="expose_access_token"),
            pytest.param("redis_url", None, id="redis_url"),
        ],
    )
    def test_default(self, field: str, default: object) -> None:
        """A variable left unset takes the default DESIGN.md gives it."""
        assert getattr(from_env(), field) == default

    @pytest.mark.parametrize(
        ("variable", "raw", "field", "expected"),
        [
            pytest.param("Y2W_APPID", "my-app", "appid", "my-app", id="appid"),
            pytest.param(
                "Y2W_GATEWAY_URL",
                "https://gw.example.com",
                "gateway_url",
                "https://gw.example.com",
                id="gateway_url",
            ),
            pytest.param("Y2W_TIMEOUT", "2.5", "timeout", 2.5, id="timeout"),
            pytest.param(
                "Y2W_SESSION_MAX_AGE", "3600", "session_max_age", 3600, id="max_age"
            ),
            pytest.param("Y2W_COOKIE_NAME", "sid", "cookie_name", "sid", id="cookie"),
            pytest.param(
                "Y2W_COOKIE_SAMESITE", "Strict", "cookie_samesite", "strict", id="ss"
            ),
            pytest.param(
                "Y2W_COOKIE_DOMAIN",
                "example.com",
                "cookie_domain",
                "example.com",
                id="cookie_domain",
            ),
            pytest.param(
                "Y2W_COOKIE_PATH", "/app", "cookie_path", "/app", id="cookie_path"
            ),
            pytest.param("Y2W_TOKEN_PARAM", "tok", "token_param", "tok", id="param"),
            pytest.param(
                "Y2W_TOKEN_HEADER", "X-Face", "token_header", "X-Face", id="header"
            ),
            pytest.param(
                "Y2W_TOKEN_PATTERN",
                "^[a-z]{8}$",
                "token_pattern",
                "^[a-z]{8}$",
                id="pattern",
            ),
            pytest.param("Y2W_PREFIX", "/auth", "prefix", "/auth", id="prefix"),
            pytest.param(
                "Y2W_LOGIN_URL", "/login", "login_url", "/login", id="login_url"
            ),
            pytest.param(
                "Y2W_BIND_URL",
                "https://hr.example.com/bind",
                "bind_url",
                "https://hr.example.com/bind",
                id="bind_url",
            ),
            pytest.param(
                "Y2W_EXPOSE_ACCESS_TOKEN", "yes", "expose_access_token", True, id="xat"
            ),
            pytest.param(
                "Y2W_REDIS_URL",
                "redis://localhost:6379/0",
                "redis_url",
                "redis://localhost:6379/0",
                id="redis_url",
            ),
        ],
    )
    def test_variable_is_read(
        self, variable: str, raw: str, field: str, expected: object
    ) -> None:
        """Each ``Y2W_*`` variable sets the keyword of the same name."""
        assert getattr(from_env(**{variable: raw}), field) == expected

    def test_cookie_secure_is_read(self) -> None:
        """``Y2W_COOKIE_SECURE=false`` turns the Secure attribute off."""
        assert from_env(Y2W_COOKIE_SECURE="false").cookie_secure is False

    def test_secrets_are_read_wrapped(self) -> None:
        """The secret and the session key are held as ``Secret`` values."""
        settings = from_env()

        assert isinstance(settings.secret, Secret)
        assert settings.secret.reveal() == APP_SECRET
        assert isinstance(settings.session_secret, Secret)
        assert settings.session_secret.reveal() == SESSION_SECRET

    def test_fallbacks_are_a_comma_list(self) -> None:
        """Old keys come from a comma list, blanks and padding dropped."""
        second = "AnotherOldKey-0000111"
        settings = from_env(Y2W_SESSION_SECRET_FALLBACKS=f" {OLD_KEY} ,, {second},")

        assert [key.reveal() for key in settings.session_secret_fallbacks] == [
            OLD_KEY,
            second,
        ]
        assert all(isinstance(k, Secret) for k in settings.session_secret_fallbacks)

    def test_empty_variable_counts_as_unset(self) -> None:
        """A variable set to blanks takes the default."""
        assert from_env(Y2W_LOGIN_URL="  ", Y2W_TIMEOUT="").login_url is None

    def test_reads_os_environ_by_default(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without an ``environ`` mapping the process environment is read."""
        for name, value in REQUIRED.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("Y2W_COOKIE_NAME", "from_os_environ")

        assert Settings.from_env().cookie_name == "from_os_environ"

    def test_keyword_wins_over_environment(self) -> None:
        """An explicit keyword beats the variable of the same name."""
        env = {**REQUIRED, "Y2W_TIMEOUT": "3", "Y2W_APPID": "from-env"}
        settings = Settings.from_env(env, timeout=7.0, appid="from-keyword")

        assert (settings.timeout, settings.appid) == (7.0, "from-keyword")

    def test_keyword_hides_a_bad_variable(self) -> None:
        """A variable the keyword replaces is not read, so it cannot fail."""
        env = {**REQUIRED, "Y2W_TIMEOUT": "soon"}

        assert Settings.from_env(env, timeout=2.0).timeout == 2.0

    def test_keywords_alone_are_enough(self) -> None:
        """The required values may all come as keywords."""
        settings = Settings.from_env(
            {}, appid="app", secret=APP_SECRET, session_secret=SESSION_SECRET
        )

        assert settings.appid == "app"

    def test_unknown_keyword_is_a_type_error(self) -> None:
        """A misspelt keyword is a programming error, named in a TypeError."""
        with pytest.raises(TypeError, match="session_maxage"):
            Settings.from_env(REQUIRED, session_maxage=60)


class TestCasts:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            pytest.param("true", True, id="true"),
            pytest.param("1", True, id="1"),
            pytest.param("yes", True, id="yes"),
            pytest.param("on", True, id="on"),
            pytest.param("false", False, id="false"),
            pytest.param("0", False, id="0"),
            pytest.param("no", False, id="no"),
            pytest.param("off", False, id="off"),
        ],
    )
    def test_boolean_words(self, raw: str, expected: bool) -> None:
        """Exactly true/false, 1/0, yes/no and on/off are booleans."""
        assert from_env(Y2W_EXPOSE_ACCESS_TOKEN=raw).expose_access_token is expected

    @pytest.mark.parametrize(
        ("variable", "raw"),
        [
            pytest.param("Y2W_EXPOSE_ACCESS_TOKEN", "maybe", id="bool-maybe"),
            pytest.param("Y2W_EXPOSE_ACCESS_TOKEN", "2", id="bool-2"),
            pytest.param("Y2W_COOKIE_SECURE", "t", id="bool-t"),
            pytest.param("Y2W_COOKIE_SECURE", "enabled", id="bool-enabled"),
            pytest.param("Y2W_SESSION_MAX_AGE", "1.5", id="int-fraction"),
            pytest.param("Y2W_SESSION_MAX_AGE", "ten", id="int-word"),
            pytest.param("Y2W_SESSION_MAX_AGE", "1e3", id="int-exponent"),
            pytest.param("Y2W_SESSION_MAX_AGE", "0", id="int-zero"),
            pytest.param("Y2W_SESSION_MAX_AGE", "-60", id="int-negative"),
            pytest.param("Y2W_TIMEOUT", "five", id="float-word"),
            pytest.param("Y2W_TIMEOUT", "5s", id="float-unit"),
            pytest.param("Y2W_TIMEOUT", "0", id="float-zero"),
            pytest.param("Y2W_TIMEOUT", "nan", id="float-nan"),
            pytest.param("Y2W_TIMEOUT", "inf", id="float-inf"),
            pytest.param("Y2W_COOKIE_SAMESITE", "always", id="samesite"),
        ],
    )
    def test_bad_value_names_its_variable(self, variable: str, raw: str) -> None:
        """A value that does not cast is a ConfigError naming the variable."""
        exc = config_error(**{variable: raw})

        assert len(exc.problems) == 1
        assert variable in exc.problems[0]

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            pytest.param("session_max_age", 3600.0, id="max-age-float"),
            pytest.param("pending_max_age", 1.5, id="pending-float"),
            pytest.param("session_max_age", True, id="max-age-bool"),
            pytest.param("timeout", "5", id="timeout-str"),
            pytest.param("timeout", float("nan"), id="timeout-nan"),
            pytest.param("cookie_secure", "false", id="secure-str"),
        ],
    )
    def test_keyword_of_wrong_type_is_refused(self, field: str, value: Any) -> None:
        """Keywords are checked too: a float lifetime would make unreadable cookies."""
        with pytest.raises(ConfigError, match=f"Y2W_{field.upper()}"):
            Settings.from_env(REQUIRED, **{field: value})


class TestProblemsAtOnce:
    def test_missing_and_bad_are_reported_together(self) -> None:
        """One ConfigError names every missing and every malformed variable."""
        with pytest.raises(ConfigError) as info:
            Settings.from_env(
                {
                    "Y2W_TIMEOUT": "soon",
                    "Y2W_COOKIE_SECURE": "maybe",
                    "Y2W_PREFIX": "no-slash",
                }
            )
        names = [
            "Y2W_APPID",
            "Y2W_SECRET",
            "Y2W_SESSION_SECRET",
            "Y2W_TIMEOUT",
            "Y2W_COOKIE_SECURE",
            "Y2W_PREFIX",
        ]

        assert len(info.value.problems) == len(names)
        for name in names:
            assert re.search(rf"\b{name}\b", str(info.value)), name

    def test_keyword_problems_are_reported_together(self) -> None:
        """Direct construction also collects every problem into one error."""
        with pytest.raises(ConfigError) as info:
            Settings(appid="app", timeout=-1, prefix="y2w")

        text = str(info.value)
        for name in ("Y2W_SECRET", "Y2W_SESSION_SECRET", "Y2W_TIMEOUT", "Y2W_PREFIX"):
            assert name in text


class TestSecrets:
    def test_config_error_never_repeats_a_secret(self) -> None:
        """Problems around secrets name the variable, never the value."""
        short = "Sh0rtKey-Pq5"
        with pytest.raises(ConfigError) as info:
            Settings.from_env(
                {
                    "Y2W_SECRET": APP_SECRET,
                    "Y2W_SESSION_SECRET": SESSION_SECRET,
                    "Y2W_SESSION_SECRET_FALLBACKS": f"{OLD_KEY},{short}",
                    "Y2W_REDIS_URL": f"http://:{REDIS_PASSWORD}@localhost",
                    "Y2W_TIMEOUT": "soon",
                }
            )
        text = str(info.value)

        assert "Y2W_SESSION_SECRET" in text
        assert "Y2W_REDIS_URL" in text
        for secret in [*SECRETS, short]:
            assert secret not in text

    def test_short_session_secret_names_the_variable_only(self) -> None:
        """A too-short key is refused without being repeated."""
        short = "Sh0rtKey-Pq5"
        exc = config_error(Y2W_SESSION_SECRET=short)

        assert "Y2W_SESSION_SECRET" in str(exc)
        assert short not in str(exc)

    def test_short_fallback_is_refused(self) -> None:
        """An old key shorter than the minimum is refused like the current one."""
        exc = config_error(Y2W_SESSION_SECRET_FALLBACKS="Sh0rtKey-Pq5")

        assert "Y2W_SESSION_SECRET" in str(exc)

    def test_settings_repr_hides_every_secret(self) -> None:
        """``repr(settings)`` shows no secret, key or Redis password."""
        settings = from_env(
            Y2W_SESSION_SECRET_FALLBACKS=OLD_KEY,
            Y2W_REDIS_URL=f"redis://:{REDIS_PASSWORD}@localhost:6379/0",
        )
        text = repr(settings)

        assert "a44r4aMbO7BZ1NoW" in text  # the repr is still useful
        for secret in SECRETS:
            assert secret not in text

    @pytest.mark.parametrize(
        "render",
        [
            pytest.param(str, id="str"),
            pytest.param(repr, id="repr"),
            pytest.param(lambda s: f"{s}", id="f-string"),
            pytest.param(lambda s: "%s" % (s,), id="percent"),  # noqa: UP031
        ],
    )
    def test_secret_never_shows_itself(self, render: Any) -> None:
        """A ``Secret`` renders masked however it is turned into text."""
        text = render(Secret(APP_SECRET))

        assert APP_SECRET not in text
        assert "*" in text

    def test_secret_reveals_and_compares(self) -> None:
        """``reveal`` gives the value back; equal values make equal secrets."""
        assert Secret(APP_SECRET).reveal() == APP_SECRET
        assert Secret(APP_SECRET) == Secret(APP_SECRET)
        assert Secret(APP_SECRET) != Secret(SESSION_SECRET)
        assert Secret(APP_SECRET) != APP_SECRET
        assert not Secret("")

    def test_plain_string_keywords_are_wrapped(self) -> None:
        """Plain strings passed as keywords are stored as ``Secret``s."""
        settings = Settings(
            appid="app",
            secret=APP_SECRET,  # type: ignore[arg-type]
            session_secret=SESSION_SECRET,  # type: ignore[arg-type]
            session_secret_fallbacks=[OLD_KEY],  # type: ignore[arg-type]
        )

        assert settings.secret == Secret(APP_SECRET)
        assert settings.session_secret_fallbacks == (Secret(OLD_KEY),)


class TestCookieSettings:
    def test_samesite_none_requires_secure(self) -> None:
        """SameSite=None without Secure is refused (browsers drop it anyway)."""
        exc = config_error(Y2W_COOKIE_SAMESITE="none", Y2W_COOKIE_SECURE="false")

        assert "Y2W_COOKIE_SAMESITE" in str(exc)

    def test_samesite_none_with_secure_is_accepted(self) -> None:
        """SameSite=None is fine on a Secure cookie."""
        assert from_env(Y2W_COOKIE_SAMESITE="none").cookie_samesite == "none"

    def test_insecure_cookie_warns(self, caplog: pytest.LogCaptureFixture) -> None:
        """``cookie_secure=false`` logs one WARNING on the package logger."""
        with caplog.at_level(logging.WARNING, logger="y2w_middleware"):
            from_env(Y2W_COOKIE_SECURE="false")

        warnings = [
            r
            for r in caplog.records
            if r.name == "y2w_middleware" and r.levelno == logging.WARNING
        ]
        assert len(warnings) == 1
        assert "Y2W_COOKIE_SECURE" in warnings[0].getMessage()

    def test_secure_cookie_does_not_warn(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The default, secure cookies, logs nothing."""
        with caplog.at_level(logging.DEBUG, logger="y2w_middleware"):
            from_env()

        assert [r for r in caplog.records if r.name == "y2w_middleware"] == []

    @pytest.mark.parametrize(
        ("variable", "raw"),
        [
            pytest.param("Y2W_COOKIE_NAME", "my session", id="name-space"),
            pytest.param("Y2W_COOKIE_NAME", "a;b", id="name-semicolon"),
            pytest.param("Y2W_COOKIE_PATH", "app", id="path-relative"),
            pytest.param("Y2W_COOKIE_PATH", "/;Domain=evil.com", id="path-semicolon"),
            pytest.param("Y2W_COOKIE_PATH", "/a\tb", id="path-control"),
            pytest.param("Y2W_COOKIE_DOMAIN", "a.com;SameSite=None", id="domain-semi"),
            pytest.param("Y2W_COOKIE_DOMAIN", "a .com", id="domain-space"),
            pytest.param("Y2W_TOKEN_PARAM", "identity token", id="param-space"),
            pytest.param("Y2W_TOKEN_HEADER", "X-Face:", id="header-colon"),
            pytest.param("Y2W_TOKEN_PATTERN", "^[a-z", id="pattern-broken"),
        ],
    )
    def test_malformed_value_is_refused(self, variable: str, raw: str) -> None:
        """Names, paths, domains and patterns that would break a header are refused."""
        assert variable in str(config_error(**{variable: raw}))

    @pytest.mark.parametrize(
        "domain",
        [
            pytest.param("example.com", id="plain"),
            pytest.param(".example.com", id="leading-dot"),
            pytest.param("localhost", id="single-label"),
            pytest.param("my-app.example.co.uk", id="hyphen"),
        ],
    )
    def test_cookie_domain_accepts_host_names(self, domain: str) -> None:
        """Ordinary host names are accepted as the cookie domain."""
        assert from_env(Y2W_COOKIE_DOMAIN=domain).cookie_domain == domain


class TestUrls:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            pytest.param("http://gw.test/", "http://gw.test", id="one-slash"),
            pytest.param("https://gw.test/base//", "https://gw.test/base", id="two"),
            pytest.param("http://gw.test", "http://gw.test", id="none"),
        ],
    )
    def test_gateway_url_trailing_slash_is_stripped(
        self, raw: str, expected: str
    ) -> None:
        """Paths are appended to the gateway URL, so its trailing slashes go."""
        assert from_env(Y2W_GATEWAY_URL=raw).gateway_url == expected

    @pytest.mark.parametrize(
        "raw",
        [
            pytest.param("gateway.api.yun2win.com", id="no-scheme"),
            pytest.param("ftp://gw.test", id="ftp"),
            pytest.param("http://", id="no-host"),
            pytest.param("http://gw.test/?x=1", id="query"),
            pytest.param("http://gw.test/#top", id="fragment"),
        ],
    )
    def test_gateway_url_must_be_plain_http(self, raw: str) -> None:
        """The gateway URL is an http(s) base without query or fragment."""
        assert "Y2W_GATEWAY_URL" in str(config_error(Y2W_GATEWAY_URL=raw))

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            pytest.param("/y2w", "/y2w", id="default"),
            pytest.param("/auth/face/", "/auth/face", id="trailing-slash"),
            pytest.param("/a-b_c.d", "/a-b_c.d", id="punctuation"),
        ],
    )
    def test_prefix_accepted(self, raw: str, expected: str) -> None:
        """A plain absolute path is a prefix, kept without a trailing slash."""
        assert from_env(Y2W_PREFIX=raw).prefix == expected

    @pytest.mark.parametrize(
        "raw",
        [
            pytest.param("y2w", id="relative"),
            pytest.param("//y2w", id="protocol-relative"),
            pytest.param("/y2w?x=1", id="query"),
            pytest.param("/y2w#x", id="fragment"),
            pytest.param("/y 2w", id="space"),
            pytest.param("/y2w\\x", id="backslash"),
            pytest.param("https://example.com/y2w", id="absolute-url"),
        ],
    )
    def test_prefix_refused(self, raw: str) -> None:
        """A prefix must be a plain absolute path on this site."""
        assert "Y2W_PREFIX" in str(config_error(Y2W_PREFIX=raw))

    @pytest.mark.parametrize("variable", ["Y2W_LOGIN_URL", "Y2W_BIND_URL"])
    @pytest.mark.parametrize(
        "raw",
        [
            pytest.param("/login", id="path"),
            pytest.param("/accounts/face?step=2", id="path-query"),
            pytest.param("https://sso.example.com/login", id="https"),
            pytest.param("http://localhost:8000/bind", id="http"),
        ],
    )
    def test_page_url_accepted(self, variable: str, raw: str) -> None:
        """Login and bind pages are a path here or an http(s) URL elsewhere."""
        field = variable.removeprefix("Y2W_").lower()

        assert getattr(from_env(**{variable: raw}), field) == raw

    @pytest.mark.parametrize("variable", ["Y2W_LOGIN_URL", "Y2W_BIND_URL"])
    @pytest.mark.parametrize(
        "raw",
        [
            pytest.param("javascript:alert(1)", id="javascript"),
            pytest.param("data:text/html,hi", id="data"),
            pytest.param("//evil.com/login", id="protocol-relative"),
            pytest.param("login", id="relative"),
            pytest.param("ftp://example.com/login", id="ftp"),
            pytest.param("https:///login", id="no-host"),
        ],
    )
    def test_page_url_refused(self, variable: str, raw: str) -> None:
        """Anything but a path or an http(s) URL is refused."""
        assert variable in str(config_error(**{variable: raw}))

    @pytest.mark.parametrize(
        "raw",
        [
            pytest.param("redis://localhost:6379/0", id="redis"),
            pytest.param("rediss://cache.example.com:6380", id="rediss"),
            pytest.param("unix:///run/redis.sock", id="unix"),
        ],
    )
    def test_redis_url_accepted(self, raw: str) -> None:
        """redis://, rediss:// and unix:// URLs are accepted."""
        assert from_env(Y2W_REDIS_URL=raw).redis_url == raw

    @pytest.mark.parametrize(
        "raw",
        [
            pytest.param("http://localhost:6379", id="http"),
            pytest.param("localhost:6379", id="no-scheme"),
        ],
    )
    def test_redis_url_refused(self, raw: str) -> None:
        """Any other scheme is refused, naming the variable."""
        assert "Y2W_REDIS_URL" in str(config_error(Y2W_REDIS_URL=raw))


def test_env_name() -> None:
    """``env_name`` gives the variable behind a keyword."""
    assert from_env().env_name("session_max_age") == "Y2W_SESSION_MAX_AGE"


def test_settings_are_frozen() -> None:
    """Settings cannot be changed after construction."""
    settings = from_env()

    with pytest.raises(AttributeError):
        settings.timeout = 1.0  # type: ignore[misc]


def test_typed_init_lists_every_field_in_order() -> None:
    """The __init__ written for type checkers names exactly the init fields."""
    import ast
    import dataclasses
    import inspect

    from y2w_middleware import _settings

    tree = ast.parse(inspect.getsource(_settings.Settings))
    stub = next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name == "__init__"
    )

    named = [arg.arg for arg in stub.args.kwonlyargs]
    fields = [field.name for field in dataclasses.fields(Settings) if field.init]
    assert named == fields
