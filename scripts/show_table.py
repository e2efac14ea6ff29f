#!/usr/bin/env python3
"""Folds a kcat dump of a compacted numflow topic into its table (latest record per key,
tombstones delete) and prints it. Used by scripts/demo.sh.

stdin lines: KEY <tab> VALUE_SIZE <tab> VALUE   (numbers, extensions)
             KEY <tab> HEADERS                  (dead-letters)

show_table.py numbers|extensions --missing KEY...   prints the keys not (or no longer) in the
table instead, and exits 1 when there are any (demo.sh --check waits for them)."""
import json
import sys

kind = sys.argv[1]
expected = sys.argv[3:] if len(sys.argv) > 2 and sys.argv[2] == "--missing" else None
rows = {}
dead = []
for line in sys.stdin:
    parts = line.rstrip("\n").split("\t", 2)
    if kind == "dead-letters":
        headers = dict(h.split("=", 1) for h in parts[1].split(",numflow-") if "=" in h) if len(parts) > 1 else {}
        code = next((v for k, v in headers.items() if k.endswith("error-code")), "?")
        detail = next((v for k, v in headers.items() if k.endswith("error-detail")), "")
        dead.append((parts[0], code, detail))
        continue
    if len(parts) < 3:
        continue
    key, size, value = parts
    if size == "-1" or value == "":
        rows.pop(key, None)  # tombstone
    else:
        rows[key] = json.loads(value)

if expected is not None:
    missing = [k for k in expected if k not in rows]
    print("\n".join(missing))
    sys.exit(1 if missing else 0)


def show(title, header, table):
    print(f"\n{title} ({len(table)})")
    widths = [max(len(str(c)) for c in col) for col in zip(header, *table)] if table else [len(h) for h in header]
    for r in [header] + table:
        print("  " + "  ".join(str(c).ljust(w) for c, w in zip(r, widths)))

if kind == "numbers":
    table = []
    for k, v in sorted(rows.items()):
        s = v["state"]
        table.append([k, v["provider"], v["account_id"] or "-", v["change"], s["status"] or "-",
                      s["country_code"] or "-", "yes" if s["number_valid"] else "no", s["cnam"] or "-",
                      ",".join(v["changed_fields"])])
    show("number-changes: one row per number", ["number", "provider", "account", "change", "status", "country",
                                                "valid", "cnam", "changed_fields"], table)
elif kind == "extensions":
    table = [[k, v["change"], ",".join(v["hints"])] for k, v in sorted(rows.items())]
    show("extension-changes", ["key", "change", "hints"], table)
else:
    show("webhooks.dead-letter", ["key", "error_code", "error_detail"], [list(d) for d in dead])
