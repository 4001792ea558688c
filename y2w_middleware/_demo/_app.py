"""The demo's Starlette app: a login page, a protected page and a bind page.

The app is what any Starlette user would write: ``Y2WMiddleware`` with a
``user_loader``, ``@login_required`` on ``/``, and a bind page reading
``get_pending_identity``. Only ``POST /demo/scan`` is make-believe: it
stands in for the vendor's face component.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import secrets
from datetime import datetime
from importlib.resources import files
from string import Template
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from y2w_middleware import (
    Identity,
    Secret,
    Settings,
    User,
    Y2WMiddleware,
    get_pending_identity,
    get_user,
    login_required,
)
from y2w_middleware._answers import safe_next
from y2w_middleware.testing import FakeGateway

__all__ = ["DEMO_PEOPLE", "DemoPerson", "build_demo_app"]


@dataclasses.dataclass(frozen=True)
class DemoPerson:
    """Someone the fake camera can recognise."""

    uid: str
    name: str
    #: Whether the demo app knows them from the start; the others must bind.
    has_account: bool = True


DEMO_PEOPLE = (
    DemoPerson("f3292423", "张德强"),  # the person in the vendor's own example
    DemoPerson("e1002", "Amira Haddad"),
    DemoPerson("e1003", "Lukas Novák"),
    DemoPerson("n2001", "Sofia Rossi", has_account=False),
)


def build_demo_app(
    gateway_base_url: str, gw: FakeGateway, *, session_secret: str | None = None
) -> ASGIApp:
    """The demo app, talking to *gw* served at *gateway_base_url*.

    *gw* is also called in-process, to issue identity tokens when a visitor
    "scans" a face. Each app has its own accounts: binding is not shared.
    """
    settings = Settings(
        appid=gw.appid,
        secret=Secret(gw.secret),
        session_secret=Secret(session_secret or secrets.token_urlsafe(32)),
        gateway_url=gateway_base_url,
        cookie_secure=False,  # the demo is plain http on localhost
        login_url="/login",
        bind_url="/bind",
        expose_access_token=True,  # the face component on /login needs one
    )
    people = {person.uid: person for person in DEMO_PEOPLE}
    # The app's own user table: uid -> name. Binding adds to it.
    accounts = {p.uid: p.name for p in DEMO_PEOPLE if p.has_account}

    async def load_user(identity: Identity) -> str | None:
        return accounts.get(identity.uid)

    async def login(request: Request) -> Response:
        cards = "\n".join(
            _card(person, person.uid in accounts) for person in people.values()
        )
        next_url = safe_next(request.query_params.get("next"))
        return _render("login.html", "Face login", cards=_Safe(cards), next=next_url)

    @login_required
    async def home(request: Request) -> Response:
        user = get_user(request)
        assert isinstance(user, User)
        return _render(
            "home.html",
            "Hello",
            name=user.name,
            initial=user.name[:1],
            uid=user.uid,
            login_at=_when(user.login_at),
            expires=_when(user.session_expires),
        )

    async def bind(request: Request) -> Response:
        identity = get_pending_identity(request)
        if identity is None:
            return _render(
                "notice.html",
                "Nothing to bind",
                heading="Nothing to bind",
                message="No recognised face is waiting for an account. "
                "Scan one on the login page first.",
            )
        next_url = safe_next(request.query_params.get("next"))
        return _render(
            "bind.html",
            "Create your account",
            name=identity.name,
            initial=identity.name[:1],
            uid=identity.uid,
            expire=_when(identity.expire),
            next=quote(next_url, safe="/"),
        )

    async def scan(request: Request) -> Response:
        # Stands in for the vendor's face component: it recognises a face
        # and hands the browser an identity token.
        try:
            data = await request.json()
        except ValueError:
            data = None
        uid = data.get("uid") if isinstance(data, dict) else None
        person = people.get(uid) if isinstance(uid, str) else None
        if person is None:
            body = {"error": "UnknownFace", "message": "nobody like that here"}
            return JSONResponse(body, status_code=404)
        token = gw.issue_identity_token(person.uid, person.name)
        return JSONResponse({"identityToken": token})

    async def create_account(request: Request) -> Response:
        # The uid comes from the signed, verified pending identity, never
        # from the request body: a visitor cannot bind someone else's face.
        identity = get_pending_identity(request)
        if identity is None:
            body = {"error": "NothingToBind", "message": "scan a face first"}
            return JSONResponse(body, status_code=403)
        accounts[identity.uid] = identity.name
        return JSONResponse({"uid": identity.uid, "name": identity.name}, 201)

    app = Starlette(
        routes=[
            Route("/", home),
            Route("/login", login),
            Route("/bind", bind),
            Route("/demo/scan", scan, methods=["POST"]),
            Route("/demo/accounts", create_account, methods=["POST"]),
        ]
    )
    return Y2WMiddleware(app, settings, load_user)


# -- pages ---------------------------------------------------------------


class _Safe(str):
    """HTML built here from escaped parts: :func:`_render` keeps it as is."""

    __slots__ = ()


@functools.cache
def _template(name: str) -> Template:
    return Template(files(__package__).joinpath(name).read_text("utf-8"))


def _render(page: str, title: str, **values: str) -> HTMLResponse:
    """*page* inside the layout; every value is HTML-escaped unless ``_Safe``."""
    # A fresh nonce per answer lets the page's own inline style and script
    # run while the policy refuses any other.
    nonce = secrets.token_urlsafe(16)
    escaped = {
        k: v if isinstance(v, _Safe) else html.escape(v) for k, v in values.items()
    }
    content = _template(page).substitute(escaped, nonce=nonce)
    body = _template("page.html").substitute(
        title=html.escape(title), content=content, nonce=nonce
    )
    policy = (
        f"default-src 'self'; script-src 'nonce-{nonce}'; "
        f"style-src 'nonce-{nonce}'; base-uri 'none'; frame-ancestors 'none'"
    )
    return HTMLResponse(body, headers={"content-security-policy": policy})


def _card(person: DemoPerson, has_account: bool) -> str:
    kind, badge = (
        ("known", "has an account") if has_account else ("new", "no account yet")
    )
    uid, name = html.escape(person.uid), html.escape(person.name)
    return (
        f'<button class="card {kind}" type="button" data-uid="{uid}" '
        f'data-name="{name}">'
        f'<span class="avatar">{html.escape(person.name[:1])}</span>'
        f'<span class="name">{name}</span><span class="uid">{uid}</span>'
        f'<span class="badge">{badge}</span></button>'
    )


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
