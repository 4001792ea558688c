"""The ``y2w`` command: exit codes, what it prints, and what it never prints."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from y2w_middleware import GatewayClient, Settings, cli
from y2w_middleware.testing import FakeGateway

SECRET = "s3cret-value-never-shown"
SESSION_SECRET = "session-key-never-shown-0123456789"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No Y2W_* variable of the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("Y2W_"):
            monkeypatch.delenv(name)


@pytest.fixture
def served_env(monkeypatch: pytest.MonkeyPatch, y2w_env: dict[str, str]) -> None:
    """Settings pointing at a served fake gateway, in os.environ."""
    for name, value in y2w_env.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 where nothing accepts connections."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 that something listens on already."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


def one_error_line(stderr: str) -> str:
    """The single ``y2w: error:`` line of a failure; no traceback."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("y2w: error: ")
    return lines[0]


# -- usage ------------------------------------------------------------------


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Bare ``y2w`` lists the commands on stderr, as a usage error."""
    assert cli.main([]) == 2
    assert "resolve" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["resolve"], id="missing-token"),
        pytest.param(["demo", "--port", "99999"], id="bad-port"),
        pytest.param(["nonsense"], id="unknown-command"),
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """argparse's own message, and status 2."""
    assert cli.main(argv) == 2
    assert "usage: y2w" in capsys.readouterr().err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    """``--help`` is not an error."""
    assert cli.main(["--help"]) == 0
    assert "fake-gateway" in capsys.readouterr().out


# -- check ------------------------------------------------------------------


def test_check_prints_masked_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every setting is listed by variable; the two secrets only as a mask."""
    monkeypatch.setenv("Y2W_APPID", "my-app")
    monkeypatch.setenv("Y2W_SECRET", SECRET)
    monkeypatch.setenv("Y2W_SESSION_SECRET", SESSION_SECRET)
    monkeypatch.setenv("Y2W_REDIS_URL", "redis://:redis-password@cache:6379/0")

    assert cli.main(["check"]) == 0

    out, err = capsys.readouterr()
    assert "Y2W_APPID" in out
    assert "my-app" in out
    assert "Y2W_COOKIE_SECURE             true" in out
    assert "redis://:***@cache:6379/0" in out
    for hidden in (SECRET, SESSION_SECRET, "redis-password"):
        assert hidden not in out + err
    assert err == ""


def test_check_warns_about_insecure_cookies(
    served_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Y2W_COOKIE_SECURE=false still passes, with one warning line."""
    assert cli.main(["check"]) == 0
    assert capsys.readouterr().err.startswith("y2w: warning: Y2W_COOKIE_SECURE")


def test_check_with_bad_env_names_the_variables(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """One line naming every problem; exit 1; the secret never appears."""
    monkeypatch.setenv("Y2W_SECRET", SECRET)
    monkeypatch.setenv("Y2W_SESSION_SECRET", "short-key")
    monkeypatch.setenv("Y2W_TIMEOUT", "soon")

    assert cli.main(["check"]) == 1

    out, err = capsys.readouterr()
    line = one_error_line(err)
    for name in ("Y2W_APPID", "Y2W_SESSION_SECRET", "Y2W_TIMEOUT"):
        assert name in line
    assert "Y2W_SECRET (" not in line  # it is set: not reported
    assert SECRET not in out + err
    assert "short-key" not in out + err


def test_check_gateway_fetches_an_access_token(
    served_env: None, fake_gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--gateway`` reports the token's lifetime, not the token."""
    assert cli.main(["check", "--gateway"]) == 0

    last = capsys.readouterr().out.splitlines()[-1]
    found = re.fullmatch(r"access token OK, expires in (\d+) s", last)
    assert found is not None
    assert 7190 <= int(found[1]) <= 7200
    assert fake_gateway.calls["token"] == 1


def test_check_gateway_with_a_wrong_secret_fails(
    served_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Refused credentials: one line with the vendor code, exit 1."""
    monkeypatch.setenv("Y2W_SECRET", SECRET)
    monkeypatch.setenv("Y2W_COOKIE_SECURE", "true")  # no warning line

    assert cli.main(["check", "--gateway"]) == 1

    out, err = capsys.readouterr()
    line = one_error_line(err)
    assert "SecretIsInvalid" in line
    assert "Y2W_SECRET" in line
    assert SECRET not in out + err


# -- resolve ----------------------------------------------------------------


def test_resolve_prints_uid_and_name(
    served_env: None, fake_gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    """The person behind the token; the token itself is not repeated."""
    token = fake_gateway.issue_identity_token("f3292423", "张德强")

    assert cli.main(["resolve", token]) == 0

    out, err = capsys.readouterr()
    assert "uid:     f3292423" in out
    assert "name:    张德强" in out
    assert token not in out + err


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        pytest.param("bad-shape", "invalid shape", id="bad-shape"),
        pytest.param("unknown", "Identity_Token_Invalid", id="unknown-token"),
        pytest.param("expired", "Identity_Token_In_Expire", id="expired-token"),
    ],
)
def test_resolve_refusals_are_one_line(
    case: str,
    expected: str,
    served_env: None,
    fake_gateway: FakeGateway,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each refusal: exit 1, one line saying why, never the token."""
    tokens = {
        "bad-shape": "not a token!",
        "unknown": "NoSuchToken12345",
        "expired": fake_gateway.issue_identity_token("u1", "Li", ttl=0),
    }

    assert cli.main(["resolve", tokens[case]]) == 1

    out, err = capsys.readouterr()
    assert expected in one_error_line(err)
    assert tokens[case] not in out + err


def test_resolve_with_the_gateway_down(
    served_env: None,
    monkeypatch: pytest.MonkeyPatch,
    closed_port: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A gateway that does not answer: one line naming it, exit 1."""
    monkeypatch.setenv("Y2W_GATEWAY_URL", f"http://127.0.0.1:{closed_port}")

    assert cli.main(["resolve", "SomeToken12345"]) == 1

    line = one_error_line(capsys.readouterr().err)
    assert f"gateway unavailable at http://127.0.0.1:{closed_port}" in line


def test_resolve_without_settings_fails(capsys: pytest.CaptureFixture[str]) -> None:
    """A ConfigError is one line too, not a traceback."""
    assert cli.main(["resolve", "SomeToken12345"]) == 1
    assert "Y2W_APPID" in one_error_line(capsys.readouterr().err)


def test_verbose_shows_the_library_log(
    served_env: None,
    closed_port: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``-v`` adds the library's log lines before the error."""
    monkeypatch.setenv("Y2W_GATEWAY_URL", f"http://127.0.0.1:{closed_port}")

    assert cli.main(["-v", "resolve", "SomeToken12345"]) == 1

    err = capsys.readouterr().err
    assert "y2w: WARNING: " in err
    assert err.splitlines()[-1].startswith("y2w: error: gateway unavailable")


def test_python_m_runs_the_command() -> None:
    """``python -m y2w_middleware`` is the same command, in a real process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("Y2W_")}

    result = subprocess.run(
        [sys.executable, "-m", "y2w_middleware", "check"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )

    assert result.returncode == 1
    assert "Y2W_SESSION_SECRET" in one_error_line(result.stderr)


# -- fake-gateway and demo ----------------------------------------------------


def test_fake_gateway_serves_and_mints_tokens(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """It prints settings to use, and its mint endpoint makes tokens that resolve."""
    seen: dict[str, Any] = {}

    def while_serving() -> None:
        out = capsys.readouterr().out
        base_url = out.split("export Y2W_GATEWAY_URL=")[1].split()[0]
        request = urllib.request.Request(  # noqa: S310 - a local http URL
            base_url + "/_fake/identity-tokens",
            data=json.dumps({"uid": "e7", "name": "Amira"}).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
            token = json.load(answer)["identityToken"]
        settings = Settings(
            appid="demo-appid",
            secret="demo-secret-not-for-production",
            session_secret=SESSION_SECRET,
            gateway_url=base_url,
        )
        with GatewayClient(settings) as client:
            seen["identity"] = client.resolve(token)
        seen["out"] = out

    monkeypatch.setattr(cli, "_wait", while_serving)

    assert cli.main(["fake-gateway", "--port", "0"]) == 0

    assert (seen["identity"].uid, seen["identity"].name) == ("e7", "Amira")
    assert "Y2W_APPID=demo-appid" in seen["out"]
    assert "not a real one" in seen["out"]


def test_fake_gateway_stops_on_ctrl_c(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl+C is the way to stop it: exit 0, no traceback."""

    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_wait", interrupted)
    assert cli.main(["fake-gateway", "--port", "0"]) == 0


@pytest.mark.parametrize("command", ["fake-gateway", "demo"])
def test_busy_port_fails_in_one_line(
    command: str, busy_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """A port in use is reported, not raised."""
    assert cli.main([command, "--port", str(busy_port)]) == 1
    assert "cannot" in one_error_line(capsys.readouterr().err)


def test_demo_serves_the_demo_app(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No settings needed: it prints the URL to open and serves the login page."""
    served: dict[str, Any] = {}

    def serve(app: Any, listener: socket.socket) -> None:
        served["port"] = listener.getsockname()[1]
        with TestClient(app) as client:
            served["login"] = client.get("/login")

    monkeypatch.setattr(cli, "_serve", serve)

    assert cli.main(["demo", "--port", "0"]) == 0

    assert served["login"].status_code == 200
    assert f"http://127.0.0.1:{served['port']}/login" in capsys.readouterr().out


def test_demo_without_uvicorn_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Missing the demo extra: exit 1 with the pip command."""
    monkeypatch.setitem(sys.modules, "uvicorn", None)

    assert cli.main(["demo"]) == 1
    assert 'pip install "y2w-middleware[demo]"' in one_error_line(
        capsys.readouterr().err
    )
