r"""Face login for a Flask app: the ``Y2W`` extension and ``login_required``.

Run it against the fake gateway (start ``y2w fake-gateway`` first)::

    Y2W_APPID=demo-appid Y2W_SECRET=demo-secret-not-for-production \
    Y2W_SESSION_SECRET=change-me-to-a-long-random-value \
    Y2W_GATEWAY_URL=http://127.0.0.1:8001 Y2W_COOKIE_SECURE=false \
    flask --app examples.flask_app run --port 8000

Then POST an identity token (``y2w fake-gateway`` shows how to mint one) as
``{"identityToken": ...}`` to ``/y2w/login`` and GET ``/`` with the cookie.
"""

from flask import Flask
from markupsafe import escape

from y2w_middleware import login_required
from y2w_middleware.flask import Y2W, current_user

app = Flask(__name__)
Y2W(app)


@app.get("/")
@login_required
def home() -> str:
    return f"Hello, {escape(current_user.display_name)}"
