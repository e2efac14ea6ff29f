#!/usr/bin/env python3
"""numflow's Grafana dashboards (helm/numflow/dashboards/*.json): lint them, and evaluate every
panel's query against a real Prometheus.

  dashboards.py lint DIR
      Every file parses; a stable, unique uid and a title; the conventions of
      ../shared/design.md: exactly one `datasource` variable (type datasource, prometheus) that
      every panel and target uses, `namespace` and `pod` query variables; on every panel a
      description and a unit; every query selects namespace=~"$namespace" and pod=~"$pod", and
      every rate()/increase()/irate() window is $__rate_interval (or a fixed window of 1h or
      more, for slow counters); panel ids unique; no overlapping panels. Exit 1 on any problem.

  dashboards.py eval DIR PROMETHEUS_URL --start T --end T [--step S] [--var name=value ...]
      Substitutes the dashboard variables (defaults: namespace=numflow-check, pod=.*,
      __rate_interval=20s, __interval=5s, __range=5m), runs every target (query) of every panel
      as a range query over [start, end]: each one must parse and return at least one sample
      that is a number (not only NaN). A panel shows what each of its targets says, so one
      target without data fails, named by dashboard, panel and refId. NO_DATA_EXPECTED lists
      the few targets allowed to be empty, each with its reason. Exit 1 on any failure.
"""
import argparse
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

# Targets allowed to return no data in check-dashboards.sh's short run, keyed
# "dashboard.json / panel title / refId", each with the reason the series cannot occur there.
# Only for series that cannot happen in a few seconds on one machine: anything the load generator
# can provoke (refusals, dead letters, 5xx, rejections, ...) it must provoke instead.
NO_DATA_EXPECTED: dict = {}  # every target returns data under check-dashboards.sh's load
RATE_RE = re.compile(r"\b(rate|irate|increase)\s*\((.*?)\[([^\]]+)\]", re.S)
LONG_WINDOW_RE = re.compile(r"^[0-9]+[hdw]$")


def load(directory):
    boards = []
    for name in sorted(os.listdir(directory)):
        if name.endswith(".json"):
            path = os.path.join(directory, name)
            with open(path) as f:
                try:
                    boards.append((name, json.load(f)))
                except json.JSONDecodeError as e:
                    boards.append((name, e))
    return boards


def panels_of(board):
    """Every non-row panel, rows' nested panels included."""
    out = []
    for p in board.get("panels", []):
        if p.get("type") == "row":
            out.extend(p.get("panels", []))
        else:
            out.append(p)
    return out


def lint(directory):
    problems = []
    uids = {}
    boards = load(directory)
    if not boards:
        problems.append(f"{directory}: no dashboards")
    npanels = 0
    for name, board in boards:
        def bad(msg):
            problems.append(f"{name}: {msg}")
        if isinstance(board, Exception):
            bad(f"does not parse: {board}")
            continue
        uid = board.get("uid")
        if not uid or not re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", uid):
            bad(f"uid {uid!r} missing or not a stable short identifier")
        elif uid in uids:
            bad(f"uid {uid} also used by {uids[uid]}")
        else:
            uids[uid] = name
        if not board.get("title"):
            bad("no title")
        variables = {v.get("name"): v for v in board.get("templating", {}).get("list", [])}
        ds_vars = [v for v in variables.values() if v.get("type") == "datasource"]
        if len(ds_vars) != 1 or ds_vars[0].get("name") != "datasource" or ds_vars[0].get("query") != "prometheus":
            bad("needs exactly one variable `datasource` of type datasource (prometheus)")
        for var in ("namespace", "pod"):
            v = variables.get(var)
            if not v or v.get("type") != "query":
                bad(f"needs a query variable `{var}`")
            elif v.get("datasource", {}).get("uid") != "${datasource}":
                bad(f"variable {var} must use ${{datasource}}")
        ids = set()
        boxes = []
        for p in panels_of(board):
            npanels += 1
            title = p.get("title") or f"panel {p.get('id')}"
            where = f"panel '{title}'"
            if p.get("id") in ids:
                bad(f"{where}: duplicate id {p.get('id')}")
            ids.add(p.get("id"))
            if not (p.get("description") or "").strip():
                bad(f"{where}: no description")
            if not (p.get("fieldConfig", {}).get("defaults", {}).get("unit") or "").strip():
                bad(f"{where}: no unit (fieldConfig.defaults.unit)")
            if p.get("datasource", {}).get("uid") != "${datasource}":
                bad(f"{where}: datasource must be ${{datasource}}")
            g = p.get("gridPos", {})
            box = (g.get("x", 0), g.get("y", 0), g.get("w", 0), g.get("h", 0))
            for other_title, o in boxes:
                if box[0] < o[0] + o[2] and o[0] < box[0] + box[2] and box[1] < o[1] + o[3] and o[1] < box[1] + box[3]:
                    bad(f"{where} overlaps panel '{other_title}'")
            boxes.append((title, box))
            targets = p.get("targets", [])
            if not targets:
                bad(f"{where}: no query")
            for t in targets:
                expr = t.get("expr", "")
                if t.get("datasource", {}).get("uid") not in (None, "${datasource}"):
                    bad(f"{where}: target datasource must be ${{datasource}}")
                if 'namespace=~"$namespace"' not in expr or 'pod=~"$pod"' not in expr:
                    bad(f"{where}: query must select namespace=~\"$namespace\" and pod=~\"$pod\": {expr}")
                for fn, _, window in RATE_RE.findall(expr):
                    if window != "$__rate_interval" and not LONG_WINDOW_RE.match(window):
                        bad(f"{where}: {fn}() window [{window}] should be $__rate_interval")
                if not re.search(r"\bnumflow_", expr):
                    bad(f"{where}: query names no numflow metric: {expr}")
    for p in problems:
        print("FAIL", p)
    print(f"dashboards: {len(boards)} dashboards, {npanels} panels, {len(problems)} problems")
    return 1 if problems else 0


def substitute(expr, variables):
    # Longest names first so $__rate_interval is not taken for $__range + suffix.
    for name in sorted(variables, key=len, reverse=True):
        value = variables[name]
        expr = expr.replace("${" + name + "}", value).replace("$" + name, value)
    return expr


def query_range(base, expr, start, end, step):
    """(ok, error, samples, numeric samples) of a range query."""
    params = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    req = urllib.request.Request(f"{base.rstrip('/')}/api/v1/query_range", data=params.encode(),
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            body = json.load(r)
    except urllib.error.HTTPError as e:
        try:
            body = json.load(e)
        except Exception:
            return False, f"HTTP {e.code}", 0, 0
    except (urllib.error.URLError, OSError) as e:
        return False, f"Prometheus unreachable: {e}", 0, 0
    if body.get("status") != "success":
        return False, f"{body.get('errorType')}: {body.get('error')}", 0, 0
    values = [v for s in body["data"]["result"] for _, v in s.get("values", [])]
    numeric = sum(1 for v in values if v.lower() not in ("nan", "+inf", "-inf", "inf"))
    return True, "", len(values), numeric


def evaluate(args):
    variables = {"namespace": "numflow-check", "pod": ".*", "__rate_interval": "20s", "__interval": "5s",
                 "__range": "5m", "datasource": "prometheus"}
    for kv in args.var or []:
        k, _, v = kv.partition("=")
        variables[k] = v
    failed, allowed, seen = [], [], set()
    ok = targets = panels = 0
    for name, board in load(args.dir):
        if isinstance(board, Exception):
            failed.append(f"{name}: does not parse: {board}")
            continue
        for p in panels_of(board):
            panels += 1
            panel = f"{name} / {p.get('title')}"
            if not p.get("targets"):
                failed.append(f"{panel}: no target")
            for t in p.get("targets", []):
                targets += 1
                key = f"{panel} / {t.get('refId')}"
                seen.add(key)
                expr = substitute(t.get("expr", ""), variables)
                good, error, n, numeric = query_range(args.prometheus, expr, args.start, args.end, args.step)
                if not good:
                    failed.append(f"{panel}: target {t.get('refId')} does not evaluate: {error}\n      {expr}")
                elif numeric:
                    ok += 1
                    if args.verbose:
                        print(f"ok   {key}: {numeric} samples")
                elif key in NO_DATA_EXPECTED:
                    allowed.append(f"{key}: no data (allowed: {NO_DATA_EXPECTED[key]})")
                else:
                    what = "only NaN/Inf samples" if n else "no data"
                    failed.append(f"{panel}: target {t.get('refId')} returns {what}\n      {expr}")
    for key in sorted(set(NO_DATA_EXPECTED) - seen):
        failed.append(f"NO_DATA_EXPECTED names a target that does not exist: {key}")
    for a in allowed:
        print("ALLOWED", a)
    for f in failed:
        print("FAIL", f)
    print(f"dashboards: {panels} panels, {targets} targets: {ok} return data, {len(allowed)} allowed empty, "
          f"{len(failed)} failed")
    return 1 if failed or not targets else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("lint").add_argument("dir")
    e = sub.add_parser("eval")
    e.add_argument("dir")
    e.add_argument("prometheus")
    e.add_argument("--start", required=True)
    e.add_argument("--end", required=True)
    e.add_argument("--step", default="2")
    e.add_argument("--var", action="append")
    e.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    sys.exit(lint(args.dir) if args.cmd == "lint" else evaluate(args))


if __name__ == "__main__":
    main()
