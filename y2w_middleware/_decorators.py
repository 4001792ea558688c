"""``login_required``: protect one endpoint, in any framework, sync or async.

The decorator reads the user the middleware attached to the current
request. A browser navigation without a session is sent to the login URL
with a relative ``next``; every other caller gets 401 JSON; a user the
``allow`` predicate refuses gets 403. ``OPTIONS`` passes untouched, as CORS
preflight requests carry no cookies.

The refusal is built as a plain ``Answer`` and then turned into what the
framework expects back from an endpoint: a Starlette ``Response`` (also
right for FastAPI), a Werkzeug ``Response`` for Flask, or a direct WSGI
answer for a bare WSGI callable.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, overload

from starlette.authentication import BaseUser

from ._answers import Answer, error, is_browser, redirect, with_next
from ._request import ENVIRON_CORE, SCOPE_CORE, current_request, get_user

if TYPE_CHECKING:
    from ._core import Core

__all__ = ["login_required", "refusal"]

P = ParamSpec("P")
R = TypeVar("R")
Predicate = Callable[[BaseUser], bool]

#: Methods that never need a session (flask-login exempts the same one).
EXEMPT_METHODS = frozenset({"OPTIONS"})


@overload
def login_required(func: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def login_required(
    *, allow: Predicate | None = None, redirect: bool = True
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def login_required(
    func: Callable[P, R] | None = None,
    /,
    *,
    allow: Predicate | None = None,
    redirect: bool = True,
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Refuse requests without a session; used bare or with options.

    :param allow: ``user -> bool``; a logged-in user it refuses gets 403.
    :param redirect: send browsers without a session to ``Y2W_LOGIN_URL``
        (when set) instead of answering 401.
    """
    if allow is not None and not callable(allow):
        raise TypeError("login_required(allow=...) takes a callable: user -> bool")
    if not isinstance(redirect, bool):
        raise TypeError("login_required(redirect=...) takes True or False")
    if func is not None:
        return _protect(func, allow, redirect)

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        return _protect(view, allow, redirect)

    return decorator


def _protect(
    view: Callable[P, R], allow: Predicate | None, use_redirect: bool
) -> Callable[P, R]:
    if not callable(view):
        raise TypeError("login_required decorates a function")

    if inspect.iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            request = _find_request(args, kwargs)
            answer = refusal(request, allow, use_redirect)
            if answer is None:
                return await view(*args, **kwargs)
            if request.get("type") == "websocket":
                # 1008: policy violation, the close code for a refused socket.
                await _websocket_of(args, kwargs).close(code=1008)
                return None
            return _respond(answer, request, args)

        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(view)
    def sync_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
        request = _find_request(args, kwargs)
        answer = refusal(request, allow, use_redirect)
        if answer is None:
            return view(*args, **kwargs)
        return _respond(answer, request, args)

    return sync_wrapper


def refusal(
    request: Mapping[str, Any],
    allow: Predicate | None = None,
    use_redirect: bool = True,
) -> Answer | None:
    """The answer refusing *request* (a scope or environ), or None to let it in."""
    if ENVIRON_CORE not in request and SCOPE_CORE not in request:
        # Without the middleware nobody could ever log in: say so at once
        # rather than refuse every request with a puzzling 401.
        raise RuntimeError(
            "login_required needs Y2WMiddleware (ASGI) or Y2WWSGIMiddleware "
            "(WSGI) around the app"
        )
    if _method(request) in EXEMPT_METHODS:
        return None
    user = get_user(request)
    if not user.is_authenticated:
        return _login_answer(request, use_redirect)
    if allow is not None and not allow(user):
        return error("Forbidden", 403)
    return None


def _login_answer(request: Mapping[str, Any], use_redirect: bool) -> Answer:
    core: Core = request.get(ENVIRON_CORE) or request[SCOPE_CORE]
    login_url = core.settings.login_url
    if use_redirect and login_url and is_browser(_header(request, "accept")):
        return redirect(with_next(login_url, _relative_url(request)))
    return error("LoginRequired", 401)


# -- reading the request, whatever the framework ---------------------------


def _find_request(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Mapping[str, Any]:
    # Prefer a request object among the arguments (a Starlette endpoint);
    # else the request the middleware is handling (FastAPI, Flask).
    for value in (*args, *kwargs.values()):
        scope = getattr(value, "scope", None)
        if isinstance(scope, Mapping) and "type" in scope:
            return scope
        if isinstance(value, Mapping) and "REQUEST_METHOD" in value:
            return value
    request = current_request.get(None)
    if request is None:
        raise RuntimeError(
            "login_required found no request: wrap the app in Y2WMiddleware "
            "(ASGI) or Y2WWSGIMiddleware (WSGI)"
        )
    return request


def _websocket_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    for value in (*args, *kwargs.values()):
        if hasattr(value, "close") and hasattr(value, "scope"):
            return value
    raise RuntimeError("login_required on a websocket endpoint needs its WebSocket")


def _method(request: Mapping[str, Any]) -> str:
    return str(request.get("REQUEST_METHOD") or request.get("method") or "GET")


def _header(request: Mapping[str, Any], name: str) -> str | None:
    if "REQUEST_METHOD" in request:
        value: str | None = request.get("HTTP_" + name.upper().replace("-", "_"))
        return value
    raw = name.encode("latin-1")
    for key, value_bytes in request.get("headers", ()):
        if key == raw:
            return str(value_bytes.decode("latin-1"))
    return None


def _relative_url(request: Mapping[str, Any]) -> str:
    if "REQUEST_METHOD" in request:
        path = request.get("SCRIPT_NAME", "") + request.get("PATH_INFO", "")
        query = request.get("QUERY_STRING", "")
    else:
        path = request.get("path", "/")
        query = request.get("query_string", b"").decode("latin-1")
    return f"{path}?{query}" if query else path


# -- answering in the framework's own terms --------------------------------


def _respond(answer: Answer, request: Mapping[str, Any], args: tuple[Any, ...]) -> Any:
    if "type" in request:
        from starlette.responses import Response

        response = Response(answer.body, status_code=answer.status)
        response.raw_headers.extend(
            (k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers
        )
        return response

    if len(args) >= 2 and args[0] is request and callable(args[1]):
        # A bare WSGI callable: answer through its start_response.
        status = f"{answer.status} {_REASONS.get(answer.status, '')}".strip()
        args[1](status, list(answer.headers))
        return [answer.body]

    from werkzeug.wrappers import Response as WerkzeugResponse

    return WerkzeugResponse(answer.body, status=answer.status, headers=answer.headers)


_REASONS = {303: "See Other", 401: "Unauthorized", 403: "Forbidden"}
