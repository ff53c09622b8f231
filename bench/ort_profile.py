#!/usr/bin/env python3
"""Sums an ONNX Runtime profile (ortbench --profile PREFIX writes PREFIX_<date>.json) per node.

    python3 bench/ort_profile.py PROFILE.json [--runs N]

Prints each node's mean milliseconds per run (the profile holds the warm-up and timed runs; the
mean is over all of them, or over the last N with --runs), its operator and output shape, largest
first, so the time ONNX Runtime spends on a layer can be set beside `salient bench forward
--profile`'s step timings. Only the standard library is used.
"""
import argparse
import collections
import json

parser = argparse.ArgumentParser()
parser.add_argument("profile")
parser.add_argument("--runs", type=int, default=0, help="average over the last N runs only")
args = parser.parse_args()

events = json.load(open(args.profile))
runs = [e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"]
if args.runs:
    runs = runs[-args.runs:]
windows = [(r["ts"], r["ts"] + r["dur"]) for r in runs]
total = collections.Counter()
meta = {}
for e in events:
    if e.get("cat") != "Node" or not e.get("name", "").endswith("_kernel_time"):
        continue
    if not any(start <= e["ts"] <= end for start, end in windows):
        continue
    node = e["name"][: -len("_kernel_time")]
    total[node] += e["dur"]
    a = e.get("args", {})
    meta[node] = (a.get("op_name", "?"), a.get("output_type_shape", ""))
count = max(len(windows), 1)
run_ms = sum(end - start for start, end in windows) / count / 1000
print(f"{len(windows)} runs, {run_ms:.1f} ms per run; nodes by mean ms per run:")
for node, us in total.most_common():
    op, shape = meta[node]
    print(f"{us / count / 1000:8.2f}  {op:24s} {node:40s} {json.dumps(shape)[:80]}")
