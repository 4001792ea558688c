"""The ``y2w`` command: try face login locally and check a deployment.

Subcommands::

    y2w demo            the demo app and a fake gateway, nothing to configure
    y2w fake-gateway    a fake gateway alone, for developing an app against
    y2w check           read Y2W_* variables; --gateway also fetches a token
    y2w resolve TOKEN   who an identity token belongs to, per the gateway

Exit status: 0 success, 1 failure (one line on stderr), 2 usage error.
Nothing printed here contains a secret, an access token or an identity
token, except the fake gateway's well-known demo secret.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import secrets
import socket
import sys
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from ._client import GatewayClient
from ._settings import Secret, Settings
from .errors import (
    ConfigError,
    CredentialError,
    GatewayError,
    GatewayUnavailable,
    Y2WError,
)

if TYPE_CHECKING:
    from starlette.types import ASGIApp

__all__ = ["main"]

logger = logging.getLogger("y2w_middleware")

_PROG = "y2w"
_DEMO_EXTRA = 'pip install "y2w-middleware[demo]"'


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``y2w`` command with *argv* (default ``sys.argv[1:]``)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2

    try:
        status: int = args.run(args)
    except ConfigError as exc:
        return _fail("invalid settings: " + "; ".join(exc.problems))
    except KeyboardInterrupt:
        return 0
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=_PROG, description="Face login through the yun2win gateway."
    )
    parser.set_defaults(command=None)
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show the library's log lines (check, resolve)",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="run the demo app against a fake gateway (no setup needed)"
    )
    demo.add_argument("--host", default="127.0.0.1", help="default: %(default)s")
    demo.add_argument("--port", type=_port, default=8000, help="default: %(default)s")
    demo.add_argument(
        "--gateway-port",
        type=_port,
        default=0,
        help="port of the fake gateway on 127.0.0.1 (default: any free one)",
    )
    demo.set_defaults(command="demo", run=_demo)

    fake = commands.add_parser(
        "fake-gateway", help="serve a fake gateway for local development"
    )
    fake.add_argument("--host", default="127.0.0.1", help="default: %(default)s")
    fake.add_argument("--port", type=_port, default=8001, help="default: %(default)s")
    fake.set_defaults(command="fake-gateway", run=_fake_gateway)

    check = commands.add_parser("check", help="validate the Y2W_* settings")
    check.add_argument(
        "--gateway",
        action="store_true",
        help="also fetch an access token from the gateway",
    )
    check.set_defaults(command="check", run=_check)

    resolve = commands.add_parser(
        "resolve", help="ask the configured gateway who an identity token names"
    )
    resolve.add_argument("token", metavar="TOKEN", help="the identity token")
    resolve.set_defaults(command="resolve", run=_resolve)
    return parser


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}")
    return port


def _fail(message: str) -> int:
    print(f"{_PROG}: error: {message}", file=sys.stderr)
    return 1


# -- check and resolve -------------------------------------------------------


def _check(args: argparse.Namespace) -> int:
    with _library_logs(args.verbose):
        settings = Settings.from_env()
    names = _setting_names(settings)
    width = max(len(settings.env_name(name)) for name in names)
    for name in names:
        value = _show(name, getattr(settings, name))
        print(f"{settings.env_name(name):<{width}}  {value}")
    if not settings.cookie_secure:
        print(
            f"{_PROG}: warning: Y2W_COOKIE_SECURE is false: session cookies "
            "travel over plain http (local development only)",
            file=sys.stderr,
        )
    if not args.gateway:
        return 0

    with _library_logs(args.verbose), GatewayClient(settings) as client:
        try:
            token = client.token()
        except Y2WError as exc:
            return _fail(_describe(exc, settings))
    print(f"access token OK, expires in {token.expires_in} s")
    return 0


def _resolve(args: argparse.Namespace) -> int:
    with _library_logs(args.verbose):
        settings = Settings.from_env()
        with GatewayClient(settings) as client:
            try:
                identity = client.resolve(args.token)
            except Y2WError as exc:
                return _fail(_describe(exc, settings))
    print(f"uid:     {identity.uid}")
    print(f"name:    {identity.name}")
    print(f"expires: {identity.expire.isoformat()}")
    return 0


def _describe(exc: Y2WError, settings: Settings) -> str:
    """One line about a failed gateway call; the messages hold no secret."""
    if isinstance(exc, CredentialError):
        return f"gateway refused the credentials: {exc}; check Y2W_APPID and Y2W_SECRET"
    if isinstance(exc, GatewayError):
        return f"gateway: {exc}"
    if isinstance(exc, GatewayUnavailable):
        url = _without_password(settings.gateway_url)
        return f"gateway unavailable at {url}: {exc}"
    return str(exc)  # InvalidIdentityToken: refused before any call


@contextlib.contextmanager
def _library_logs(verbose: bool) -> Iterator[None]:
    """Show the library's log lines only with ``--verbose``.

    Without a handler, Python would print its warnings and errors bare,
    next to (and repeating) the one line this command prints.
    """
    handler: logging.Handler
    if verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(f"{_PROG}: %(levelname)s: %(message)s"))
    else:
        handler = logging.NullHandler()
    saved = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.CRITICAL + 1)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.level, logger.propagate = saved


def _setting_names(settings: Settings) -> list[str]:
    return [field.name for field in dataclasses.fields(settings) if field.init]


def _show(name: str, value: Any) -> str:
    """One setting as ``y2w check`` prints it: secrets and passwords masked."""
    if isinstance(value, Secret):
        return repr(value) if value else "(empty)"
    if isinstance(value, tuple):
        return ", ".join(_show(name, item) for item in value) or "(none)"
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if name.endswith("_url") and isinstance(value, str):
        return _without_password(value)
    return str(value)


def _without_password(url: str) -> str:
    # redis://:password@host and http://user:password@host hide the password.
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


# -- the fake gateway and the demo ------------------------------------------


def _fake_gateway(args: argparse.Namespace) -> int:
    from ._demo import serve_gateway
    from ._demo._gateway import MINT_PATH
    from .testing import FakeGateway

    gw = FakeGateway()
    with contextlib.ExitStack() as stack:
        try:
            base_url = stack.enter_context(serve_gateway(gw, args.host, args.port))
        except OSError as exc:
            return _fail(f"cannot serve on {args.host}:{args.port}: {exc.strerror}")

        print(f"Fake yun2win gateway on {base_url} (for development only)")
        print()
        print("Settings for an app (the secret is the fake's public demo value):")
        print()
        print(f"  export Y2W_GATEWAY_URL={base_url}")
        print(f"  export Y2W_APPID={gw.appid}")
        print(f"  export Y2W_SECRET={gw.secret}  # the fake's, not a real one")
        print(f"  export Y2W_SESSION_SECRET={secrets.token_urlsafe(32)}")
        print("  export Y2W_COOKIE_SECURE=false")
        print()
        print("Mint an identity token, as the face component would:")
        print()
        print(
            f"  curl -s -X POST {base_url}{MINT_PATH} "
            "-H 'content-type: application/json' "
            """-d '{"uid": "f3292423", "name": "Zhang Deqiang"}'"""
        )
        print()
        print("Press Ctrl+C to stop.", flush=True)
        _wait()
    return 0


def _wait() -> None:
    """Block until Ctrl+C (tests replace this)."""
    while True:
        time.sleep(3600)


def _demo(args: argparse.Namespace) -> int:
    try:
        import uvicorn  # noqa: F401 - only checking it is there
    except ImportError:
        return _fail(f"y2w demo needs uvicorn: {_DEMO_EXTRA}")
    from ._demo import build_demo_app, serve_gateway
    from .testing import FakeGateway

    gw = FakeGateway()
    with contextlib.ExitStack() as stack:
        try:
            listener = stack.enter_context(_listen(args.host, args.port))
        except OSError as exc:
            where = f"{args.host}:{args.port}"
            return _fail(f"cannot listen on {where}: {exc.strerror}")
        try:
            gateway = serve_gateway(gw, "127.0.0.1", args.gateway_port)
            gateway_url = stack.enter_context(gateway)
        except OSError as exc:
            where = f"127.0.0.1:{args.gateway_port}"
            return _fail(f"cannot serve the fake gateway on {where}: {exc.strerror}")

        app = build_demo_app(gateway_url, gw)
        port = listener.getsockname()[1]
        print(f"Fake gateway:  {gateway_url}")
        print(f"Demo app:      {_browser_url(args.host, port)}/login  <- open this")
        print("Press Ctrl+C to stop.", flush=True)
        _serve(app, listener)
    return 0


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket, so that a busy port fails here and port 0 works."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(128)
    except OSError:
        listener.close()
        raise
    return listener


def _browser_url(host: str, port: int) -> str:
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - naming it, not binding it
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _serve(app: ASGIApp, listener: socket.socket) -> None:
    """Serve *app* with uvicorn on *listener* until Ctrl+C (tests replace this)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, log_level="info"))
    server.run(sockets=[listener])
