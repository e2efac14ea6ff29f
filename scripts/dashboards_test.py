#!/usr/bin/env python3
"""Tests of scripts/dashboards.py eval: every target of every panel must evaluate and return
data; a panel with one good target and one empty one fails, naming dashboard, panel and refId.
No network: Prometheus' answers are faked at urllib. Run: python3 scripts/dashboards_test.py
(scripts/check-dashboards.sh runs it before its real evaluation)."""
import contextlib
import io
import json
import os
import sys
import tempfile
import unittest
import urllib.parse
from unittest import mock

sys.dont_write_bytecode = True  # no __pycache__ in the checkout
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dashboards  # noqa: E402


def board(*panels):
    return {"uid": "t", "title": "t", "panels": [
        {"type": "row", "title": "row", "panels": []},
        *[{"type": "timeseries", "id": i + 1, "title": title,
           "targets": [{"refId": ref, "expr": expr} for ref, expr in targets]}
          for i, (title, targets) in enumerate(panels)]]}


class FakePrometheus:
    """urlopen() stand-in: answers a query_range by the metric the query names."""

    def __init__(self, answers):
        self.answers = answers  # metric name -> list of values, or "error"
        self.queries = []

    def __call__(self, req, timeout=None):
        query = urllib.parse.parse_qs(req.data.decode())["query"][0]
        self.queries.append(query)
        for metric, values in self.answers.items():
            if metric in query:
                if values == "error":
                    body = {"status": "error", "errorType": "bad_data", "error": "parse error"}
                else:
                    body = {"status": "success", "data": {"resultType": "matrix", "result": [
                        {"metric": {}, "values": [[1700000000 + i, v] for i, v in enumerate(values)]}]}}
                break
        else:
            body = {"status": "success", "data": {"resultType": "matrix", "result": []}}
        return io.BytesIO(json.dumps(body).encode())


class EvalTest(unittest.TestCase):
    def run_eval(self, boards, answers, allowed=None):
        with tempfile.TemporaryDirectory() as d:
            for name, b in boards.items():
                with open(os.path.join(d, name), "w") as f:
                    json.dump(b, f)
            args = mock.Mock(dir=d, prometheus="http://prometheus.invalid", start="1", end="2", step="1",
                             var=["namespace=nf"], verbose=False)
            out = io.StringIO()
            fake = FakePrometheus(answers)
            with mock.patch.object(dashboards.urllib.request, "urlopen", fake), \
                    mock.patch.object(dashboards, "NO_DATA_EXPECTED", allowed or {}), \
                    contextlib.redirect_stdout(out):
                rc = dashboards.evaluate(args)
            return rc, out.getvalue(), fake

    def test_every_target_with_data_passes(self):
        rc, out, fake = self.run_eval(
            {"a.json": board(("Latency", [("A", 'q(numflow_a{namespace=~"$namespace"})'), ("B", "numflow_b")]))},
            {"numflow_a": ["0.1", "0.2"], "numflow_b": ["NaN", "3"]})
        self.assertEqual(rc, 0, out)
        self.assertIn("1 panels, 2 targets: 2 return data", out)
        self.assertIn('namespace=~"nf"', fake.queries[0])  # variables substituted

    def test_one_empty_target_fails_the_panel_even_if_another_has_data(self):
        rc, out, _ = self.run_eval(
            {"a.json": board(("Commit latency", [("A", "numflow_transform_transaction_seconds_bucket"),
                                                 ("C", "numflow_transform_batch_seconds_bucket")]))},
            {"numflow_transform_transaction_seconds": ["0.1"]})
        self.assertEqual(rc, 1, out)
        self.assertIn("FAIL a.json / Commit latency: target C returns no data", out)
        self.assertNotIn("target A", out)

    def test_only_nan_is_no_data(self):
        rc, out, _ = self.run_eval({"a.json": board(("Quantile", [("A", "numflow_a")]))}, {"numflow_a": ["NaN", "NaN"]})
        self.assertEqual(rc, 1, out)
        self.assertIn("FAIL a.json / Quantile: target A returns only NaN/Inf samples", out)

    def test_a_target_that_does_not_evaluate_fails(self):
        rc, out, _ = self.run_eval({"a.json": board(("Bad", [("A", "numflow_a"), ("B", "numflow_bad")]))},
                                   {"numflow_a": ["1"], "numflow_bad": "error"})
        self.assertEqual(rc, 1, out)
        self.assertIn("FAIL a.json / Bad: target B does not evaluate: bad_data: parse error", out)

    def test_allowlisted_target_may_be_empty_and_stale_entries_fail(self):
        rc, out, _ = self.run_eval({"a.json": board(("Rare", [("A", "numflow_a"), ("B", "numflow_rare")]))},
                                   {"numflow_a": ["1"]}, allowed={"a.json / Rare / B": "cannot happen in 1 min"})
        self.assertEqual(rc, 0, out)
        self.assertIn("ALLOWED a.json / Rare / B: no data (allowed: cannot happen in 1 min)", out)
        rc, out, _ = self.run_eval({"a.json": board(("Rare", [("A", "numflow_a")]))}, {"numflow_a": ["1"]},
                                   allowed={"a.json / Rare / B": "gone"})
        self.assertEqual(rc, 1, out)
        self.assertIn("NO_DATA_EXPECTED names a target that does not exist: a.json / Rare / B", out)

    def test_a_panel_without_targets_fails(self):
        rc, out, _ = self.run_eval({"a.json": board(("Empty", []))}, {})
        self.assertEqual(rc, 1, out)
        self.assertIn("FAIL a.json / Empty: no target", out)


if __name__ == "__main__":
    unittest.main()
