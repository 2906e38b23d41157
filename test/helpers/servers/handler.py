#!/usr/bin/env python3
"""FaceSign webhook handlers in Python, standard library only, for check's end-to-end tests.

Each mode is a handler as people write it in Flask or Django, reduced to http.server:
  correct        verifies the raw bytes, checks the signature's form first, de-duplicates, ignores unknown types
  dumps          verifies json.dumps(json.loads(body)) with the defaults (", " / ": ", ensure_ascii)
  dumps-compact  the same with separators=(",", ":"), so compact ASCII bodies happen to pass
  length-check   checks len(signature) == 64, then hmac.compare_digest, which raises TypeError on non-ASCII

Usage: python3 test/helpers/servers/handler.py --mode MODE --secret SECRET [--port 0]
Prints "listening on http://127.0.0.1:PORT/webhooks/facesign" once it accepts connections.
"""

import argparse
import hashlib
import hmac
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PATH = "/webhooks/facesign"
KNOWN = {"session.created", "session.started", "session.verified", "session.failed", "session.cancelled", "session.expired"}
HEX64 = re.compile(r"[0-9a-f]{64}")


def hex_hmac(secret, data):
    return hmac.new(secret.encode("utf-8"), data, hashlib.sha256).hexdigest()


def verify_raw(raw, signature, secret):
    if signature is None or not HEX64.fullmatch(signature):
        return False
    return hmac.compare_digest(signature, hex_hmac(secret, raw))


def verify_reserialized(dump):
    def verify(raw, signature, secret):
        if signature is None or not HEX64.fullmatch(signature):
            return False
        try:
            body = json.loads(raw)
        except ValueError:
            return False
        # The bug: the HMAC of what the serializer makes of the parsed body, not of the bytes received.
        return hmac.compare_digest(signature, hex_hmac(secret, dump(body).encode("utf-8")))

    return verify


def verify_length_only(raw, signature, secret):
    if signature is None or len(signature) != 64:
        return False
    # The bug: http.server decodes header bytes as Latin-1, so "é" passes the length check as one
    # character, and compare_digest raises TypeError on a str that is not ASCII.
    return hmac.compare_digest(signature, hex_hmac(secret, raw))


VERIFIERS = {
    "correct": verify_raw,
    "dumps": verify_reserialized(lambda body: json.dumps(body)),
    "dumps-compact": verify_reserialized(lambda body: json.dumps(body, separators=(",", ":"))),
    "length-check": verify_length_only,
}


def make_handler(verify, secret):
    processed = set()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def reply(self, status, text):
            data = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.split("?")[0] != PATH:
                return self.reply(404, "Not found")
            try:
                if not verify(raw, self.headers.get("FaceSign-Signature"), secret):
                    return self.reply(400, "Invalid signature")
                event = json.loads(raw)
                with lock:
                    if event["id"] in processed:
                        return self.reply(200, "Already processed")
                    processed.add(event["id"])
                return self.reply(200, "OK" if event.get("type") in KNOWN else "Ignored")
            except Exception as err:  # what Flask does with an uncaught exception: log it, answer 500
                sys.stderr.write(f"handler error: {type(err).__name__}: {err}\n")
                return self.reply(500, "Internal Server Error")

        def log_message(self, format, *args):
            pass

    return Handler


def main():
    parser = argparse.ArgumentParser(description="A FaceSign webhook handler for tests")
    parser.add_argument("--mode", choices=sorted(VERIFIERS), required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(VERIFIERS[args.mode], args.secret))
    server.daemon_threads = True
    print(f"listening on http://127.0.0.1:{server.server_address[1]}{PATH}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
