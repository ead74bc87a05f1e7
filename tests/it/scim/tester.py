"""Runs the scim2-tester compliance checks (PyPI scim2-tester, by the Python SCIM
community; not this project's code) against one organisation's SCIM endpoint.

Usage: python3 tester.py BASE_URL TOKEN
Prints a JSON list of {title, status, reason, resource_type} for every check run.
The server uses a self-signed certificate on loopback, hence verify=False.
"""

import json
import sys

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import check_server

base, token = sys.argv[1], sys.argv[2]
http = httpx2.Client(
    base_url=base,
    headers={"Authorization": f"Bearer {token}"},
    verify=False,
    timeout=30,
)
results = check_server(SyncSCIMClient(http))
print(
    json.dumps(
        [
            {
                "title": r.title,
                "status": r.status.name,
                "reason": str(r.reason),
                "resource_type": r.resource_type,
            }
            for r in results
        ]
    )
)
