"""The application behind Apache in the mod_auth_openidc guide (../apache.md): a page for the
coaches of one organisation, showing what Apache passed on. Python's standard library only.

Apache has checked the login and the role; this only reads the request headers that
mod_auth_openidc set. Listen on loopback only, so that nobody reaches it around Apache.

Usage: python3 backend.py PORT APP_URL   (APP_URL: the address people use, through Apache)
"""

import html
import json
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/coach/"):
            self.coach_page()
        else:
            self.page("Tränarsidan", '<p id="state">Not signed in.</p><p><a href="/coach/">Sign in</a></p>')

    def coach_page(self):
        email = self.headers.get("OIDC_CLAIM_email", "")
        roles = self.headers.get("OIDC_CLAIM_org_roles", "")
        # `orgs` arrives as a JSON string: {"<org id>": {"slug", "name", "roles"}, ...}
        orgs = json.loads(self.headers.get("OIDC_CLAIM_orgs", "{}"))
        clubs = ", ".join(sorted(o["name"] for o in orgs.values()))
        # mod_auth_openidc's logout: it ends its session, then sends the browser to Nyckel.
        logout = "/coach/redirect_uri?logout=" + urllib.parse.quote(APP_URL + "/", safe="")
        self.page(
            "Tränarsidan",
            f'<p id="state">Signed in as <span id="email">{html.escape(email)}</span></p>'
            f'<p>Roles here: <span id="roles">{html.escape(roles)}</span></p>'
            f'<p>Member of: <span id="orgs">{html.escape(clubs)}</span></p>'
            f'<p><a id="logout" href="{html.escape(logout)}">Sign out</a></p>',
        )

    def page(self, title, body):
        data = f"<!doctype html><meta charset=utf-8><title>{title}</title><h1>{title}</h1>{body}".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    APP_URL = sys.argv[2].rstrip("/")
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
