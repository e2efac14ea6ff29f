"""The transform's internal records (transform/core/codec.cpp) written from Python, for tools that
need them without the C++ build: fuzz/make_corpus.py (fuzz_codec's seeds) and bench/gen.py (a
changelog to restore). Records are given in the JSON form numflow wrote before ("v":1, still read).
transform/core/codec_test.cpp checks that the seeds this writes are byte for byte what numflow
writes. Standard library only.
"""
import json

HINTS = ["updated", "created", "deleted", "listed"]
# providers/state.h's kSlotNames: numflow writes slots in this order.
SLOTS = ["country_code", "number_valid", "status", "provider_status", "usable_for_new_sessions",
         "health.check_enabled", "health.healthy", "health.status", "health.last_checked", "cnam",
         "emergency_address", "carrier_code", "usage_type", "number_type", "payment_type", "location",
         "contact_center_provider", "reference_id", "pricing.rental_price", "pricing.incoming_rate",
         "pricing.billing_unit", "pricing.currency"]


def varint(u):
    out = bytearray()
    while u >= 0x80:
        out.append((u & 0x7F) | 0x80)
        u >>= 7
    out.append(u)
    return bytes(out)


def zigzag(i):
    return varint(((i << 1) ^ (i >> 63)) & 0xFFFFFFFFFFFFFFFF)


def bstr(s):
    b = s.encode() if isinstance(s, str) else s
    return varint(len(b)) + b


def json_text(v):
    return json.dumps(v, separators=(",", ":")).encode()


def _source(src):
    if not src:
        return b"\0"
    return b"\1" + bstr(src["topic"]) + zigzag(src["partition"]) + zigzag(src["offset"])


def _in_slot_order(slots):
    return sorted(slots.items(), key=lambda kv: SLOTS.index(kv[0]))


def fragment(f):
    """encode_fragment / encode_snapshot_end of a fragment in its JSON form."""
    head = bstr(f["provider"]) + bstr(f["account"]) + bstr(f["event_type"])
    if f["type"] == "snapshot_end":
        return b"\x02E" + head + bstr(f["inventory"]) + zigzag(f["snapshot_ms"]) + _source(f["source"])
    slots = b"".join(bstr(k) + bstr(json_text(v)) for k, v in _in_slot_order(f["slots"]))
    return (b"\x02U" + head + bstr(f["number"]) + varint(HINTS.index(f["hint"])) + bstr(f["event_id"]) +
            zigzag(f["event_time"]) + bstr(f["inventory"]) + zigzag(f["snapshot_ms"]) + _source(f["source"]) +
            varint(len(f["slots"])) + slots)


def state(s):
    """encode_state of a state in its JSON form."""
    slots = b"".join(bstr(k) + zigzag(v["t"]) + bstr(json_text(v["v"])) for k, v in _in_slot_order(s["slots"]))
    return (b"\x02S" + bstr(s["provider"]) + bstr(s["account"]) + bstr(s["inventory"]) + zigzag(s["snapshot_ms"]) +
            zigzag(s["deleted_at"]) + varint(len(s["ids"])) + b"".join(bstr(i) for i in s["ids"]) +
            varint(len(s["slots"])) + slots)
