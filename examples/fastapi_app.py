r"""Face login for a FastAPI app: the middleware, and ``CurrentUser`` in a route.

Run it against the fake gateway (start ``y2w fake-gateway`` first)::

    Y2W_APPID=demo-appid Y2W_SECRET=demo-secret-not-for-production \
    Y2W_SESSION_SECRET=change-me-to-a-long-random-value \
    Y2W_GATEWAY_URL=http://127.0.0.1:8001 Y2W_COOKIE_SECURE=false \
    uvicorn examples.fastapi_app:app --port 8000

Then POST an identity token (``y2w fake-gateway`` shows how to mint one) as
``{"identityToken": ...}`` to ``/y2w/login`` and GET ``/`` with the cookie.
"""

from fastapi import FastAPI

from y2w_middleware import Y2WMiddleware
from y2w_middleware.fastapi import CurrentUser

app = FastAPI()
app.add_middleware(Y2WMiddleware)


@app.get("/")
async def home(user: CurrentUser) -> dict[str, str]:
    return {"hello": user.name, "uid": user.uid}
