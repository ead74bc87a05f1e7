"""A webhook receiver for Nyckel (docs/provisioning.md): a membership platform's copy of one
organisation's member list, kept in step by Nyckel's signed events.

Every delivery is verified with the official Standard Webhooks library (PyPI
`standardwebhooks`) and the endpoint's secret; a delivery already seen (by `webhook-id`) is
acknowledged and skipped, because delivery is at least once. Only the Python standard library
and `standardwebhooks` are needed.

    NYCKEL_WEBHOOK_SECRET=whsec_... PORT=8090 RECEIVER_DB=members.sqlite3 python3 receiver.py
"""

import json
import os
import sqlite3
from http.server import BaseHTTPRequestHandler, HTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

HOOK = Webhook(os.environ["NYCKEL_WEBHOOK_SECRET"])
DB = os.environ.get("RECEIVER_DB", "members.sqlite3")
PORT = int(os.environ.get("PORT", "8090"))

SCHEMA = """
create table if not exists seen (id text primary key);
create table if not exists members (
    org text not null, user_id text not null, email text, name text, roles text,
    primary key (org, user_id)
);
"""


def apply(db, event):
    """Applies one event to the copy of the member list."""
    kind, data = event["type"], event["data"]
    org = (data.get("organisation") or {}).get("id")
    if kind in ("member.added", "member.roles_changed", "person.updated", "invitation.accepted"):
        m = data["member"]
        db.execute(
            "insert into members (org, user_id, email, name, roles) values (?, ?, ?, ?, ?)"
            " on conflict (org, user_id) do update set email = excluded.email,"
            " name = excluded.name, roles = excluded.roles",
            (org, m["user_id"], m["email"], m.get("name"), json.dumps(m["roles"])),
        )
    elif kind == "member.removed":
        db.execute("delete from members where org = ? and user_id = ?", (org, data["member"]["user_id"]))
    elif kind == "person.erased":
        db.execute("delete from members where org = ? and user_id = ?", (org, data["user_id"]))
    # client.changed: nothing to keep here.


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            event = HOOK.verify(body, headers)
        except WebhookVerificationError:
            self.send_response(401)
            self.end_headers()
            return
        with sqlite3.connect(DB) as db:
            db.executescript(SCHEMA)
            first = db.execute("insert or ignore into seen (id) values (?)", (headers["webhook-id"],)).rowcount
            if first:
                apply(db, event)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    with sqlite3.connect(DB) as db:
        db.executescript(SCHEMA)
    HTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
