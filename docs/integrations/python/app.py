"""A Flask app that logs people in with Nyckel through Authlib (../python.md).

It shows the three things a server-side app needs: the login (authorization code with PKCE),
refreshing tokens, and ending its own session when Nyckel says the person's session ended
(OpenID Connect Back-Channel Logout 1.0), besides RP-initiated logout.

Configuration from the environment:
  NYCKEL_ISSUER       Nyckel's issuer, e.g. https://id.example.org
  OIDC_CLIENT_ID      from `nyckel client create`
  OIDC_CLIENT_SECRET  shown once by `nyckel client create`
  APP_URL             this app's address, e.g. https://club.example.org
  APP_SECRET_KEY      a long random string (signs Flask's session cookie)
  APP_DB              a SQLite file shared by every worker (ended sessions), default app.db

Run: flask --app app run   (or gunicorn 'app:app'; the test runs `python3 app.py PORT`)
"""

import os
import sqlite3
import sys
import time
import urllib.parse

from authlib.integrations.flask_client import OAuth
from flask import Flask, abort, redirect, request, session, url_for
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from markupsafe import escape

ISSUER = os.environ["NYCKEL_ISSUER"].rstrip("/")
CLIENT_ID = os.environ["OIDC_CLIENT_ID"]
APP_URL = os.environ["APP_URL"].rstrip("/")
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"

app = Flask(__name__)
app.secret_key = os.environ["APP_SECRET_KEY"]
# Apps on one host share cookies across ports: give this one its own name.
app.config["SESSION_COOKIE_NAME"] = "club_session"
app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
app.config["SESSION_COOKIE_SECURE"] = APP_URL.startswith("https://")

oauth = OAuth(app)
oauth.register(
    "nyckel",
    client_id=CLIENT_ID,
    client_secret=os.environ["OIDC_CLIENT_SECRET"],
    server_metadata_url=f"{ISSUER}/.well-known/openid-configuration",
    # `orgs` adds the person's organisations to the ID token (docs/claims.md). Nyckel wants
    # PKCE from every client.
    client_kwargs={"scope": "openid email profile orgs", "code_challenge_method": "S256"},
)


# --- Ended sessions -------------------------------------------------------------------------
# Flask keeps its session in a cookie, which the server cannot delete. So the app remembers
# which Nyckel sessions (`sid`) have ended and drops any cookie session that belongs to one.
# A file shared by all workers; with several machines use your database or Redis.


def ended_db():
    db = sqlite3.connect(os.environ.get("APP_DB", "app.db"))
    db.execute("create table if not exists ended (sid text primary key, at integer not null)")
    return db


def end_sid(sid):
    now = int(time.time())
    with ended_db() as db:
        db.execute("insert or ignore into ended values (?, ?)", (sid, now))
        # A cookie session lives at most PERMANENT_SESSION_LIFETIME (31 days by default).
        db.execute("delete from ended where at < ?", (now - 32 * 86400,))


def sid_ended(sid):
    with ended_db() as db:
        return db.execute("select 1 from ended where sid = ?", (sid,)).fetchone() is not None


@app.before_request
def drop_ended_session():
    if session.get("sid") and sid_ended(session["sid"]):
        session.clear()


# --- Login, refresh, logout -----------------------------------------------------------------


@app.get("/")
def home():
    user = session.get("user")
    if not user:
        return page('<p id="state">Not signed in.</p><p><a id="login" href="/login">Sign in</a></p>')
    clubs = ", ".join(sorted(o["name"] for o in user.get("orgs", {}).values()))
    return page(
        f'<p id="state">Signed in as <span id="email">{escape(user["email"])}</span></p>'
        f'<p>Member of: <span id="orgs">{escape(clubs)}</span></p>'
        f'<p>Tokens refreshed: <span id="refreshed">{session.get("refreshed", 0)}</span></p>'
        '<form method="post" action="/refresh"><button id="refresh">Refresh tokens</button></form>'
        '<form method="post" action="/logout"><button id="logout">Sign out</button></form>'
    )


@app.get("/login")
def login():
    return oauth.nyckel.authorize_redirect(f"{APP_URL}/callback")


@app.get("/callback")
def callback():
    token = oauth.nyckel.authorize_access_token()  # checks state, PKCE, the ID token and nonce
    claims = token["userinfo"]
    session.clear()
    session["user"] = {"sub": claims["sub"], "email": claims.get("email", ""), "orgs": claims.get("orgs", {})}
    session["sid"] = claims.get("sid")
    session["id_token"] = token["id_token"]
    session["refresh_token"] = token.get("refresh_token")
    session["access_token"] = token["access_token"]
    return redirect(url_for("home"))


@app.post("/refresh")
def refresh():
    """Rotates the refresh token and checks the new access token at userinfo. A refused
    refresh (the session ended, or the token was reused) ends the app's session."""
    if not session.get("refresh_token"):
        return redirect(url_for("home"))
    try:
        token = oauth.nyckel.fetch_access_token(grant_type="refresh_token", refresh_token=session["refresh_token"])
        oauth.nyckel.userinfo(token=token)
    except Exception:  # invalid_grant, or the new access token is refused
        session.clear()
        return redirect(url_for("home"))
    session["refresh_token"] = token.get("refresh_token", session["refresh_token"])
    session["access_token"] = token["access_token"]
    session["refreshed"] = session.get("refreshed", 0) + 1
    return redirect(url_for("home"))


@app.post("/logout")
def logout():
    """RP-initiated logout: ends this app's session, then Nyckel's (which tells the others)."""
    id_token = session.get("id_token")
    session.clear()
    metadata = oauth.nyckel.load_server_metadata()
    query = urllib.parse.urlencode(
        {"id_token_hint": id_token or "", "post_logout_redirect_uri": f"{APP_URL}/", "client_id": CLIENT_ID}
    )
    return redirect(f"{metadata['end_session_endpoint']}?{query}")


# --- Back-channel logout --------------------------------------------------------------------


@app.post("/backchannel-logout")
def backchannel_logout():
    """Nyckel posts a logout token here when a session this app had tokens in ends. The token
    is checked as OpenID Connect Back-Channel Logout 1.0 section 2.6 says; a token may come
    more than once (delivery is at least once), which ending a session twice tolerates."""
    try:
        claims = verify_logout_token(request.form.get("logout_token", ""))
    except (JoseError, ValueError) as e:
        app.logger.warning("refused a logout token: %s", e)
        abort(400)
    if claims.get("sid"):
        end_sid(claims["sid"])
    return "", 200, {"Cache-Control": "no-store"}


def verify_logout_token(value):
    metadata = oauth.nyckel.load_server_metadata()
    keys = KeySet.import_key_set(oauth.nyckel.fetch_jwk_set())
    token = jwt.decode(value, keys, algorithms=metadata["id_token_signing_alg_values_supported"])
    if token.header.get("typ") != "logout+jwt":
        raise ValueError("typ is not logout+jwt")
    jwt.JWTClaimsRegistry(
        leeway=60,
        iss={"essential": True, "value": metadata["issuer"]},
        aud={"essential": True, "value": CLIENT_ID},
        iat={"essential": True},
        exp={"essential": True},
        jti={"essential": True},
    ).validate(token.claims)
    if BACKCHANNEL_EVENT not in (token.claims.get("events") or {}):
        raise ValueError("no back-channel logout event")
    if "nonce" in token.claims:
        raise ValueError("a logout token has no nonce")
    if not token.claims.get("sid") and not token.claims.get("sub"):
        raise ValueError("neither sid nor sub")
    return token.claims


def page(body):
    return (
        f"<!doctype html><meta charset=utf-8><title>Klubbappen</title><h1>Klubbappen</h1>{body}",
        200,
        {"Cache-Control": "no-store"},
    )


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]))
