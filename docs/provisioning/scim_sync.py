"""Keeps one organisation's members in Nyckel in step with a membership platform's register,
over Nyckel's SCIM 2.0 endpoint (docs/provisioning.md, "SCIM"). Standard library only.

Each member of the register is a SCIM User whose externalId is the platform's member number:
missing ones are created (Nyckel invites them by mail, or links a present member at once),
changed names and roles are replaced, and records no longer in the register are suspended
(active: false ends the membership; the person's account stays). Running it twice changes
nothing the second time.

Usage:
    NYCKEL_URL=https://id.example NYCKEL_ORG=ifk \
    NYCKEL_CLIENT_ID=... NYCKEL_CLIENT_SECRET=... \
    python3 scim_sync.py members.json

members.json: [{"number": "1001", "email": "anna@example.org", "given_name": "Anna",
                "family_name": "Berg", "roles": ["member"]}, ...]

NYCKEL_CA_FILE names a CA bundle to trust (for a development server's own certificate,
keys/tls.crt). Prints a JSON summary: created, updated, suspended, unchanged.
"""

import base64
import json
import os
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request

URL = os.environ["NYCKEL_URL"].rstrip("/")
ORG = os.environ["NYCKEL_ORG"]
BASE = f"{URL}/scim/v2/orgs/{ORG}"
CONTEXT = ssl.create_default_context(cafile=os.environ.get("NYCKEL_CA_FILE"))
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def token():
    """A client_credentials access token with the scope scim."""
    pair = f"{os.environ['NYCKEL_CLIENT_ID']}:{os.environ['NYCKEL_CLIENT_SECRET']}"
    req = urllib.request.Request(
        f"{URL}/token",
        data=urllib.parse.urlencode(
            {"grant_type": "client_credentials", "scope": "scim"}
        ).encode(),
        headers={"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()},
    )
    with urllib.request.urlopen(req, context=CONTEXT) as res:
        return json.load(res)["access_token"]


TOKEN = token()


def scim(method, path, body=None):
    """One SCIM request; returns the answer's JSON (None for 204). Raises on an error."""
    req = urllib.request.Request(
        BASE + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {TOKEN}",
            "Content-Type": "application/scim+json",
            "Accept": "application/scim+json",
        },
    )
    try:
        with urllib.request.urlopen(req, context=CONTEXT) as res:
            text = res.read()
            return json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        raise SystemExit(f"{method} {path}: {e.code} {e.read().decode()}")


def records():
    """Every User record of the organisation, page by page."""
    found, start = [], 1
    while True:
        page = scim("GET", f"/Users?startIndex={start}&count=100")
        found += page.get("Resources", [])
        start += page["itemsPerPage"]
        if page["itemsPerPage"] == 0 or start > page["totalResults"]:
            return found


def wanted(member):
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "externalId": member["number"],
        "userName": member["email"],
        "name": {"givenName": member["given_name"], "familyName": member["family_name"]},
        "emails": [{"value": member["email"], "type": "home", "primary": True}],
        "active": True,
        "roles": [{"value": r} for r in sorted(member["roles"])],
    }


def main():
    register = json.load(open(sys.argv[1], encoding="utf-8"))
    by_number = {r.get("externalId"): r for r in records()}
    summary = {"created": 0, "updated": 0, "suspended": 0, "unchanged": 0}
    for member in register:
        want = wanted(member)
        have = by_number.pop(member["number"], None)
        if have is None:
            scim("POST", "/Users", want)
            summary["created"] += 1
            continue
        same = (
            have.get("userName") == want["userName"]
            and have.get("name") == want["name"]
            and have.get("active", True)
            and sorted(r["value"] for r in have.get("roles", [])) == sorted(member["roles"])
        )
        if same:
            summary["unchanged"] += 1
            continue
        # PUT replaces the record; If-Match makes it fail rather than overwrite a change
        # made meanwhile by someone else.
        req_path = f"/Users/{have['id']}"
        body = json.dumps(want).encode()
        req = urllib.request.Request(
            BASE + req_path,
            method="PUT",
            data=body,
            headers={
                "Authorization": f"Bearer {TOKEN}",
                "Content-Type": "application/scim+json",
                "If-Match": have["meta"]["version"],
            },
        )
        urllib.request.urlopen(req, context=CONTEXT).read()
        summary["updated"] += 1
    for gone in by_number.values():
        if gone.get("active", True):
            scim(
                "PATCH",
                f"/Users/{gone['id']}",
                {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": False}]},
            )
            summary["suspended"] += 1
    print(json.dumps(summary))


main()
