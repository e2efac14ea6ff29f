#!/usr/bin/env python3
"""A loopback stand-in for 8x8's "Get My Virtual Numbers" API, so numflow-ingest's snapshot poller
has something to poll on a machine without 8x8 credentials (scripts/demo.sh,
scripts/check-dashboards.sh).

  fake_8x8_api.py PORT BODY_FILE API_KEY

GET /api/v1/subaccounts/{id}/numbers with "Authorization: Bearer API_KEY" answers 200 with
BODY_FILE (application/json); anything else 401 with no body. Standard library only."""
import http.server
import re
import sys

port, body, key = int(sys.argv[1]), open(sys.argv[2], "rb").read(), sys.argv[3]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = re.fullmatch(r"/api/v1/subaccounts/[^/]+/numbers", self.path) and \
            self.headers.get("Authorization") == "Bearer " + key
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body) if ok else 0))
        self.end_headers()
        if ok:
            self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
