#!/usr/bin/env python3
"""Writes the hand-made seeds of fuzz/corpus/<target>/seed-* and the dictionaries fuzz/<target>.dict.

Seeds come from the providers' fixtures (providers/*/fixtures/*.json), Zoom requests signed for the
fuzzers' fixed clock and secrets, raw HTTP requests (chunked, pipelined, huge headers, ...) and
settings examples. Run it after a fixture changes; the entries libFuzzer adds (named by their
SHA-1) are kept by scripts/fuzz.sh and never touched here. Only the Python standard library.
"""
import hashlib
import hmac
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import internal_records  # noqa: E402  (scripts/internal_records.py: the binary internal records)
FUZZ = ROOT / "fuzz"
CORPUS = FUZZ / "corpus"

# Must match the fuzz targets (fuzz_auth.cpp, fuzz_http_request.cpp).
ZOOM_NOW = 1700000000
ZOOM_TOKENS = ["fuzz-secret-old", "fuzz-secret-new"]
RC_TOKEN = "fuzz-verification-token"
RC_QUERY_SECRET = "fuzz-query-secret"
AUTH_8X8 = "Bearer fuzz-8x8"
PROVIDER_CODE = {"8x8": 0, "zoom": 1, "ringcentral": 2}
SEPARATOR = b"\n#NF#\n"  # fuzz_transform_core's event separator


def fixtures(provider):
    return {p.stem: p.read_bytes() for p in sorted((ROOT / "providers" / provider / "fixtures").glob("*.json"))}


def minify(body):
    return json.dumps(json.loads(body), separators=(",", ":")).encode()


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / ("seed-" + name)).write_bytes(data)


def zoom_sign(body, ts=str(ZOOM_NOW), token=ZOOM_TOKENS[1]):
    msg = b"v0:" + ts.encode() + b":" + body
    return "v0=" + hmac.new(token.encode(), msg, hashlib.sha256).hexdigest()


def providers_byte(*providers):
    b = 0
    for i, p in enumerate(providers):
        b |= PROVIDER_CODE[p] << (2 * i)
    return b


# ---- fuzz_transform_core -------------------------------------------------------------------------

def transform_core():
    for provider in PROVIDER_CODE:
        for name, body in fixtures(provider).items():
            p = providers_byte(provider, provider, provider, provider)
            write("fuzz_transform_core", f"{provider}-{name}", bytes([p, 0]) + minify(body))
    f8, fz, frc = fixtures("8x8"), fixtures("zoom"), fixtures("ringcentral")
    seqs = {
        # complete snapshot, then a webhook, then a smaller snapshot (deletes what it no longer lists)
        "8x8-snapshot-webhook-snapshot": (["8x8"] * 3, 1 | 2, [f8["numbers-api-response"], f8["webhook-seed"],
                                                                f8["numbers-api-seed"]]),
        "8x8-webhook-snapshot-redelivered": (["8x8"] * 2, 1 | 4, [f8["webhook-snapshot"], f8["webhook-no-change"]]),
        "ringcentral-lifecycle": (["ringcentral"] * 4, 2, [frc["phone-number-created-seed"],
                                                           frc["phone-number-updated"],
                                                           frc["phone-number-updated-pending"],
                                                           frc["phone-number-deleted"]]),
        "ringcentral-extensions": (["ringcentral"] * 2, 0, [frc["extension-update-seed"], frc["extension-delete"]]),
        "zoom-cnam-emergency": (["zoom"] * 3, 4, [fz["cnam-updated"], fz["emergency-address-updated"],
                                                  fz["legacy-cnam-updated"]]),
        "mixed-providers": (["zoom", "8x8", "ringcentral"], 0, [fz["cnam-updated-seed"], f8["webhook-seed"],
                                                                frc["phone-number-created-seed"]]),
    }
    for name, (providers, flags, bodies) in seqs.items():
        write("fuzz_transform_core", name,
              bytes([providers_byte(*providers), flags]) + SEPARATOR.join(minify(b) for b in bodies))


# ---- fuzz_codec ----------------------------------------------------------------------------------

FRAGMENT = {"v": 1, "type": "update", "provider": "8x8", "account": "acme", "event_type": "NUMBERS_API_SNAPSHOT",
            "number": "+6561234567", "hint": "listed", "event_id": "abc", "event_time": 1700000000000,
            "inventory": "8x8:acme", "snapshot_ms": 1234, "source": {"topic": "webhooks.raw", "partition": 3,
                                                                       "offset": 99},
            "slots": {"status": "active", "health.check_enabled": True, "emergency_address": {"city": "San Jose",
                                                                                             "zip": None},
                      "pricing.rental_price": 5.0, "pricing.currency": "USD"}}
SNAPSHOT_END = {"v": 1, "type": "snapshot_end", "provider": "8x8", "account": "acme", "event_type":
                "NUMBERS_API_SNAPSHOT", "inventory": "8x8:acme", "snapshot_ms": 42,
                "source": {"topic": "r", "partition": 0, "offset": 1}}
STATE = {"v": 1, "provider": "zoom", "account": "z", "inventory": "8x8:acme", "snapshot_ms": 7, "deleted_at": -1,
         "ids": ["a", "b"], "slots": {"cnam": {"t": 10, "v": "ACME"}, "health.healthy": {"t": 11, "v": False},
                                      "status": {"t": 5, "v": "active"}}}
DELETED = {"v": 1, "provider": "", "account": "", "inventory": "", "snapshot_ms": -1, "deleted_at": 99, "ids": [],
           "slots": {}}


def j(d):
    return json.dumps(d, separators=(",", ":")).encode()


def codec():
    sep = SEPARATOR
    no_source = dict(FRAGMENT, source=None, hint="deleted")
    # The binary form numflow writes, and the JSON form ("v":1) it still reads.
    for prefix, frag, state in (("", internal_records.fragment, internal_records.state), ("json-", j, j)):
        write("fuzz_codec", prefix + "fragment", frag(FRAGMENT))
        write("fuzz_codec", prefix + "snapshot-end", frag(SNAPSHOT_END))
        write("fuzz_codec", prefix + "state", state(STATE))
        write("fuzz_codec", prefix + "state-deleted", state(DELETED))
        write("fuzz_codec", prefix + "state+fragment", state(STATE) + sep + frag(FRAGMENT))
        write("fuzz_codec", prefix + "deleted+fragment",
              state(DELETED) + sep + frag(dict(FRAGMENT, hint="created", event_time=50)))
        write("fuzz_codec", prefix + "state+snapshot-end", state(STATE) + sep + frag(dict(SNAPSHOT_END, snapshot_ms=8)))
        write("fuzz_codec", prefix + "fragment-deleted", frag(no_source))


# ---- fuzz_auth -----------------------------------------------------------------------------------

def auth_input(kind, variant, target, peer, headers, body=b""):
    head = "\n".join([target, peer] + [f"{k}: {v}" for k, v in headers]).encode()
    return bytes([kind | (variant << 2)]) + head + b"\n\n" + body


def auth():
    for name, body in fixtures("zoom").items():
        body = minify(body)
        write("fuzz_auth", f"zoom-{name}", auth_input(0, 0, "/webhooks/zoom", "203.0.113.7", [
            ("x-zm-request-timestamp", str(ZOOM_NOW)), ("x-zm-signature", zoom_sign(body)),
            ("content-type", "application/json")], body))
    challenge = b'{"event":"endpoint.url_validation","payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680}'
    write("fuzz_auth", "zoom-url-validation", auth_input(0, 0, "/webhooks/zoom", "203.0.113.7", [
        ("x-zm-request-timestamp", str(ZOOM_NOW - 200)),
        ("x-zm-signature", zoom_sign(challenge, str(ZOOM_NOW - 200), ZOOM_TOKENS[0]))], challenge))
    body = minify(fixtures("zoom")["cnam-updated-seed"])
    write("fuzz_auth", "zoom-stale", auth_input(0, 0, "/webhooks/zoom", "203.0.113.7", [
        ("x-zm-request-timestamp", str(ZOOM_NOW - 301)), ("x-zm-signature", zoom_sign(body, str(ZOOM_NOW - 301)))],
        body))
    write("fuzz_auth", "zoom-bad-signature", auth_input(0, 0, "/webhooks/zoom", "203.0.113.7", [
        ("X-Zm-Request-Timestamp", str(ZOOM_NOW)), ("X-Zm-Signature", "v0=" + "0" * 64)], body))

    rc = minify(fixtures("ringcentral")["phone-number-created-seed"])
    write("fuzz_auth", "ringcentral-handshake", auth_input(1, 0, "/webhooks/ringcentral", "198.51.100.1", [
        ("Validation-Token", "3b7c2c9e-8f1b-4c1e-9d3b-2a5f0e6d7c8b")]))
    write("fuzz_auth", "ringcentral-token", auth_input(1, 0, "/webhooks/ringcentral", "198.51.100.1", [
        ("Verification-Token", RC_TOKEN), ("Content-Type", "application/json")], rc))
    write("fuzz_auth", "ringcentral-query", auth_input(1, 1, f"/webhooks/ringcentral?a=1&token={RC_QUERY_SECRET}",
                                                       "198.51.100.1", [], rc))
    write("fuzz_auth", "ringcentral-both-encoded", auth_input(
        1, 2, "/webhooks/ringcentral?token=fuzz%2Dquery%2dsecret&x=%zz+y", "198.51.100.1",
        [("verification-token", RC_TOKEN)], rc))

    e8 = minify(fixtures("8x8")["webhook-seed"])
    write("fuzz_auth", "8x8-allowlist", auth_input(2, 0, "/webhooks/8x8", "192.0.2.44", [], e8))
    write("fuzz_auth", "8x8-header", auth_input(2, 1, "/webhooks/8x8", "203.0.113.9", [("Authorization", AUTH_8X8)],
                                                e8))
    write("fuzz_auth", "8x8-both-ipv6", auth_input(2, 2, "/webhooks/8x8", "2001:db8::17",
                                                   [("Authorization", AUTH_8X8)], e8))
    write("fuzz_auth", "8x8-proxied", auth_input(3, 0, "/webhooks/8x8", "10.9.8.7", [
        ("X-Forwarded-For", "198.18.0.1, 192.0.2.55"), ("X-Forwarded-For", "10.0.0.2")], e8))
    write("fuzz_auth", "8x8-proxied-mapped", auth_input(3, 2, "/webhooks/8x8", "::1", [
        ("X-Forwarded-For", "::ffff:192.0.2.1,127.0.0.1"), ("Authorization", AUTH_8X8)], e8))
    write("fuzz_auth", "8x8-custom-cidrs", auth_input(3, 0, "/webhooks/8x8", "172.16.5.4", [
        ("X-Fuzz-Allow", "172.16.0.0/12, 0.0.0.0/0, ::/0, fe80::/10, 192.0.2.1/32"),
        ("X-Fuzz-Proxies", "172.16.5.4/32, 10.0.0.0/8"), ("X-Forwarded-For", "8.8.8.8")], e8))


# ---- fuzz_http_request ---------------------------------------------------------------------------

def http_request(method, target, headers=(), body=b"", version="1.1"):
    lines = [f"{method} {target} HTTP/{version}"] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def chunked(body, size=100):
    out = b""
    for i in range(0, len(body), size):
        part = body[i:i + size]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
    return out + b"0\r\n\r\n"


def http():
    host = ("Host", "ingest.example.com")
    zb = minify(fixtures("zoom")["cnam-updated"])
    zoom_post = http_request("POST", "/webhooks/zoom", [host, ("Content-Type", "application/json"),
                                                        ("x-zm-request-timestamp", str(ZOOM_NOW)),
                                                        ("x-zm-signature", zoom_sign(zb)),
                                                        ("Content-Length", str(len(zb)))], zb)
    write("fuzz_http_request", "zoom-signed", zoom_post)
    challenge = b'{"event":"endpoint.url_validation","payload":{"plainToken":"abc"}}'
    write("fuzz_http_request", "zoom-url-validation", http_request("POST", "/webhooks/zoom", [
        host, ("x-zm-request-timestamp", str(ZOOM_NOW)), ("x-zm-signature", zoom_sign(challenge, token=ZOOM_TOKENS[0])),
        ("Content-Length", str(len(challenge)))], challenge))
    rb = minify(fixtures("ringcentral")["phone-number-updated"])
    write("fuzz_http_request", "ringcentral-token-and-query", http_request(
        "POST", f"/webhooks/ringcentral?token={RC_QUERY_SECRET}", [host, ("Verification-Token", RC_TOKEN),
                                                                   ("Content-Type", "application/json"),
                                                                   ("Content-Length", str(len(rb)))], rb))
    write("fuzz_http_request", "ringcentral-handshake", http_request(
        "POST", f"/webhooks/ringcentral?token={RC_QUERY_SECRET}", [host, ("Validation-Token", "abc-123"),
                                                                   ("Content-Length", "0")]))
    eb = minify(fixtures("8x8")["webhook-seed"])
    e8_headers = [host, ("Authorization", AUTH_8X8), ("Content-Type", "application/json")]
    write("fuzz_http_request", "8x8-content-length",
          http_request("POST", "/webhooks/8x8", e8_headers + [("Content-Length", str(len(eb)))], eb))
    write("fuzz_http_request", "8x8-chunked",
          http_request("POST", "/webhooks/8x8", e8_headers + [("Transfer-Encoding", "chunked")], chunked(eb)))
    write("fuzz_http_request", "8x8-chunked-extensions-trailer", http_request(
        "POST", "/webhooks/8x8", e8_headers + [("Transfer-Encoding", "gzip, chunked")],
        b"5;ext=1\r\n{\"a\":\r\n3\r\n1}\n\r\n0\r\nX-Trailer: t\r\n\r\n"))
    write("fuzz_http_request", "8x8-expect-continue", http_request(
        "POST", "/webhooks/8x8", e8_headers + [("Expect", "100-continue"), ("Content-Length", str(len(eb)))], eb))
    write("fuzz_http_request", "8x8-forwarded", http_request(
        "POST", "/webhooks/8x8", e8_headers + [("X-Forwarded-For", "203.0.113.1, 192.0.2.3"),
                                               ("Content-Length", str(len(eb)))], eb))
    pipelined = (http_request("GET", "/healthz", [host]) + http_request("HEAD", "/readyz", [host]) +
                 http_request("GET", "/metrics", [host]) +
                 http_request("POST", "/webhooks/8x8", e8_headers + [("Content-Length", str(len(eb)))], eb) +
                 http_request("GET", "/webhooks/8x8", [host]) + http_request("POST", "/healthz", [host]) +
                 http_request("GET", "/nope", [host, ("Connection", "close")]) +
                 http_request("GET", "/healthz", [host]))
    write("fuzz_http_request", "pipelined", pipelined)
    write("fuzz_http_request", "http10", http_request("GET", "/readyz", [], version="1.0") +
          http_request("GET", "/healthz", [host]))
    write("fuzz_http_request", "http10-keep-alive", http_request("GET", "/healthz", [("Connection", "keep-alive")],
                                                                  version="1.0") + http_request("GET", "/readyz"))
    write("fuzz_http_request", "huge-header", http_request("POST", "/webhooks/8x8", e8_headers + [
        ("X-Padding", "a" * (17 * 1024)), ("Content-Length", "2")], b"{}"))
    write("fuzz_http_request", "many-headers", http_request("GET", "/healthz", [
        (f"X-H{i}", "v" * 40) for i in range(300)]))
    write("fuzz_http_request", "body-too-large", http_request("POST", "/webhooks/8x8", e8_headers + [
        ("Content-Length", "1048577")], b"{"))
    write("fuzz_http_request", "bad-request-line", b"POST /webhooks/8x8 HTTP/1.1 extra\r\nHost: x\r\n\r\n")
    write("fuzz_http_request", "smuggling-te-cl", http_request("POST", "/webhooks/8x8", e8_headers + [
        ("Content-Length", "4"), ("Transfer-Encoding", "chunked")], b"0\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n"))
    write("fuzz_http_request", "duplicate-content-length", http_request("POST", "/webhooks/8x8", e8_headers + [
        ("Content-Length", "2"), ("Content-Length", "3")], b"{}x"))
    write("fuzz_http_request", "obs-fold-and-absolute-target", b"POST http://ingest.example.com/webhooks/8x8?x=1 "
          b"HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer\r\n fuzz-8x8\r\nContent-Length: 2\r\n\r\n{}")
    write("fuzz_http_request", "truncated-body", http_request("POST", "/webhooks/8x8", e8_headers + [
        ("Content-Length", "100")], b"{\"partial\":"))


# ---- fuzz_settings -------------------------------------------------------------------------------

def settings_input(args, env=None, yaml=None):
    out = b"\0".join(a.encode() for a in args)
    if env is not None or yaml is not None:
        out += b"\0\0" + b"\0".join(f"{k}={v}".encode() for k, v in (env or {}).items())
    if yaml is not None:
        out += b"\0\0" + yaml.encode()
    return out


def settings():
    write("fuzz_settings", "flags", settings_input(["--brokers", "k1:9092,k2:9092", "--kafka-property",
                                                    "security.protocol=SASL_SSL", "--kafka-property=sasl.password=x",
                                                    "--max-body-bytes=2048", "--8x8-snapshot-webhooks-complete",
                                                    "--zoom-secret-token", "a, b ,,c", "--", "positional"]))
    write("fuzz_settings", "help", settings_input(["--log-level", "debug", "--help"]))
    write("fuzz_settings", "env", settings_input([], {"NUMFLOW_BROKERS": "env:1", "NUMFLOW_MAX_BODY_BYTES": " 20 ",
                                                      "NUMFLOW_KAFKA_PROPERTY_SASL_MECHANISM": "SCRAM-SHA-512",
                                                      "NUMFLOW_KAFKA_PROPERTY_SSL_KEY_PASSWORD": "k",
                                                      "NUMFLOW_8X8_SNAPSHOT_WEBHOOKS_COMPLETE": "yes"}))
    write("fuzz_settings", "yaml", settings_input(["--brokers=flag:1"], {"NUMFLOW_BATCH_MAX_MESSAGES": "5"},
                                                  "brokers: file:1\nmax-body-bytes: 10\n"
                                                  "8x8-allow-cidr: [10.0.0.0/8, 192.168.0.0/16]\n"
                                                  "kafka-property:\n  linger.ms: 7\n  acks: all\n"
                                                  "  sasl.password: hunter2\n"
                                                  "zoom-secret-token:\n  - one\n  - two\n"
                                                  "8x8-snapshot-webhooks-complete: on\n"))
    write("fuzz_settings", "yaml-anchors", settings_input([], {}, "base: &b\n  x: 1\n"
                                                          "8x8-poll-subaccounts: &s [a, b]\n"
                                                          "log-level: ~\ntopic-partitions: 0x10\n"))
    write("fuzz_settings", "yaml-secret-file", settings_input([], {}, "zoom-secret-token-file: missing.txt\n"))
    # (A nested value, e.g. "kafka-property: {a: [1]}", is refused: corpus/fuzz_settings/seed-regression-*.)
    write("fuzz_settings", "yaml-flow-styles", settings_input(["--topic-replication-factor", "-1"], {},
                                                              "kafka-property: {a: 1, b: 'c=d'}\n"
                                                              "8x8-allow-cidr: [\"10.0.0.0/8\", '::1']\n"))
    write("fuzz_settings", "yaml-not-a-map", settings_input([], {}, "- just\n- a list\n"))
    write("fuzz_settings", "bad-integer", settings_input(["--max-body-bytes", "99999999999999999999"]))
    write("fuzz_settings", "config-in-args", settings_input(["--config=", "--listen", "[::1]:80"], {},
                                                            "listen: 0.0.0.0:1\n"))


# ---- dictionaries --------------------------------------------------------------------------------

def dict_line(s):
    if isinstance(s, str):
        s = s.encode()
    out = '"'
    for b in s:
        if b in (0x22, 0x5C) or b < 0x20 or b >= 0x7F:
            out += "\\x%02X" % b
        else:
            out += chr(b)
    return out + '"'


def write_dict(name, tokens, comment):
    seen, lines = set(), [f"# {comment} (written by fuzz/make_corpus.py)"]
    for t in tokens:
        if t and t not in seen:
            seen.add(t)
            lines.append(dict_line(t))
    (FUZZ / f"{name}.dict").write_text("\n".join(lines) + "\n")


def json_tokens():
    keys, values = [], []
    for provider in PROVIDER_CODE:
        for body in fixtures(provider).values():
            for k in re.findall(rb'"([A-Za-z_][A-Za-z0-9_.]*)"\s*:', body):
                keys.append(b'"' + k + b'":')
            for v in re.findall(rb':\s*"([^"\\]{1,60})"', body):
                values.append(b'"' + v + b'"')
    return keys + values


def dictionaries():
    generic_json = ["{", "}", "[", "]", ":", ",", "null", "true", "false", "-0", "1e308", "\\u0000", "\\ud800",
                    "9223372036854775807", "-9223372036854775808", "18446744073709551616", "\xff", "\xc0\x80"]
    write_dict("fuzz_transform_core", json_tokens() + [SEPARATOR] + generic_json +
               ['"SNAPSHOT"', '"UPDATES"', '"Deleted"', '"Updated"', '"Created"', '"+"', '"~"', "+1", "+44", "+65"],
               "JSON keys and values of the providers' fixtures")
    codec_keys = ['"v":1', '"type":"update"', '"type":"snapshot_end"', '"provider":', '"account":', '"event_type":',
                  '"number":', '"hint":', '"updated"', '"created"', '"deleted"', '"listed"', '"event_id":',
                  '"event_time":', '"inventory":', '"snapshot_ms":', '"source":', '"topic":', '"partition":',
                  '"offset":', '"slots":', '"deleted_at":', '"ids":', '"t":', '"v":'] + \
                 ['"%s":' % s for s in ["country_code", "number_valid", "status", "provider_status",
                                        "usable_for_new_sessions", "health.check_enabled", "health.healthy",
                                        "health.status", "health.last_checked", "cnam", "emergency_address",
                                        "carrier_code", "usage_type", "number_type", "payment_type", "location",
                                        "contact_center_provider", "reference_id", "pricing.rental_price",
                                        "pricing.incoming_rate", "pricing.billing_unit", "pricing.currency"]]
    write_dict("fuzz_codec", codec_keys + ["\0"] + generic_json, "the internal topics' JSON")
    write_dict("fuzz_auth", ["x-zm-signature: ", "x-zm-request-timestamp: ", "v0=", str(ZOOM_NOW), "Validation-Token: ",
                             "Verification-Token: ", RC_TOKEN, RC_QUERY_SECRET, "token=", "?", "&", "%", "%2", "+",
                             "Authorization: ", AUTH_8X8, "X-Forwarded-For: ", "X-Fuzz-Allow: ", "X-Fuzz-Proxies: ",
                             "endpoint.url_validation", '"plainToken":', '"event":', '"payload":', "/0", "/32", "/128",
                             "::", "::ffff:", "127.0.0.1", "10.0.0.0/8", "192.0.2.0/24", "2001:db8::/32",
                             "9223372036854775807", "-9223372036854775808", "\n\n"],
               "authentication headers and networks")
    write_dict("fuzz_http_request", ["HTTP/1.1", "HTTP/1.0", "\r\n", "\r\n\r\n", "POST ", "GET ", "HEAD ", "PUT ",
                                     "OPTIONS * ", "CONNECT ", "/webhooks/zoom", "/webhooks/8x8",
                                     "/webhooks/ringcentral", "/healthz", "/readyz", "/metrics",
                                     "Content-Length: ", "Transfer-Encoding: chunked", "Transfer-Encoding: ",
                                     "Connection: close", "Connection: keep-alive", "Connection: upgrade",
                                     "Upgrade: websocket", "Expect: 100-continue", "Host: ", "Content-Type: ",
                                     "0\r\n\r\n", ";ext=", "ffffffffffffffff", "1048576", "1048577", "\t", " ",
                                     "Authorization: " + AUTH_8X8, "X-Forwarded-For: ", "Verification-Token: " + RC_TOKEN,
                                     "Validation-Token: ", "?token=" + RC_QUERY_SECRET, "x-zm-signature: v0=",
                                     "x-zm-request-timestamp: " + str(ZOOM_NOW), "endpoint.url_validation"],
               "HTTP/1.1 request syntax and numflow's routes")
    write_dict("fuzz_settings", ["--config", "--help", "-h", "--", "=", "\0", "\0\0", "-file", "_FILE", "NUMFLOW_",
                                 "NUMFLOW_CONFIG", "NUMFLOW_KAFKA_PROPERTY_", "--brokers", "--kafka-property",
                                 "--raw-topic", "--topic-partitions", "--topic-replication-factor", "--listen",
                                 "--max-body-bytes", "--zoom-auth", "--zoom-secret-token", "--zoom-max-skew",
                                 "--ringcentral-verification-token", "--8x8-allow-cidr", "--8x8-auth-header",
                                 "--8x8-api-key", "--8x8-poll-subaccounts", "--8x8-snapshot-webhooks-complete",
                                 "--batch-max-messages", "--log-level", "true", "false", "yes", "off", ",",
                                 "key=value", "sasl.password", "secret", ": ", "\n  ", "- ", "[", "]", "{", "}",
                                 "&a", "*a", "!!str", "!!binary", "? ", "|", ">", "---", "...", "~", "<<: ",
                                 "9223372036854775807", "-9223372036854775808"],
               "options, environment names and YAML syntax")


if __name__ == "__main__":
    transform_core()
    codec()
    auth()
    http()
    settings()
    dictionaries()
