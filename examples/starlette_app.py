r"""Face login for a Starlette app: one middleware, one decorator.

Run it against the fake gateway (start ``y2w fake-gateway`` first)::

    Y2W_APPID=demo-appid Y2W_SECRET=demo-secret-not-for-production \
    Y2W_SESSION_SECRET=change-me-to-a-long-random-value \
    Y2W_GATEWAY_URL=http://127.0.0.1:8001 Y2W_COOKIE_SECURE=false \
    uvicorn examples.starlette_app:app --port 8000

Then POST an identity token (``y2w fake-gateway`` shows how to mint one) as
``{"identityToken": ...}`` to ``/y2w/login`` and GET ``/`` with the cookie.
"""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from y2w_middleware import Y2WMiddleware, login_required


@login_required
async def home(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"Hello, {request.user.display_name}")


app = Starlette(routes=[Route("/", home)])
app.add_middleware(Y2WMiddleware)
