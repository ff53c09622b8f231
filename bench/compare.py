"""Summarises bench/compare.sh: per measurement, the median images/s of each build and the
median (with range) of the paired per-round ratios head / base. Reads only Salient's JSON files
(bench/compare.sh runs bench/run.sh without the ONNX Runtime and libtorch harnesses)."""
import argparse
import glob
import json
import os
import re
import statistics


def figures(directory, side, rounds):
    """{measurement: [images/s per round]} for one build."""
    result = {}
    for r in range(1, rounds + 1):
        for path in sorted(glob.glob(os.path.join(directory, f"{side}-runs", f"r{r}", "*.json"))):
            name = os.path.basename(path).rsplit(".r1.json", 1)[0]
            with open(path) as f:
                data = json.load(f)
            value = data.get("images_per_second") or data.get("gflops")
            if value is None or name.startswith(("torch", "ort_")):  # the other engines' files
                continue
            # run.sh before the batch sweep wrote its batch 8 forward passes as salient_<model>.
            if re.fullmatch(r"salient_(?!explain_|train$).*", name) and not re.search(r"_b\d+$", name):
                name += "_b8"
            result.setdefault(name, {})[r] = (float(value), data.get("peak_rss_mb") or data.get("time_maxrss_mb"))
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--rounds", type=int, required=True)
    parser.add_argument("--base", required=True)
    parser.add_argument("--head", required=True)
    args = parser.parse_args()
    base = figures(args.dir, "base", args.rounds)
    head = figures(args.dir, "head", args.rounds)
    print(f"| measurement | base {args.base} | head {args.head} | ratio head/base (median, range) | base peak MB | head peak MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in sorted(set(base) | set(head)):
        b, h = base.get(name, {}), head.get(name, {})
        paired = [h[r][0] / b[r][0] for r in sorted(set(b) & set(h)) if b[r][0] > 0]
        med = lambda d, i: statistics.median(v[i] for v in d.values()) if d and all(v[i] is not None for v in d.values()) else None
        fmt = lambda v: "n/a" if v is None else f"{v:.3g}"
        ratio = "n/a" if not paired else f"{statistics.median(paired):.3f} ({min(paired):.3f}-{max(paired):.3f})"
        print(f"| {name} | {fmt(med(b, 0))} | {fmt(med(h, 0))} | {ratio} | {fmt(med(b, 1))} | {fmt(med(h, 1))} |")
    for side, data in (("base", base), ("head", head)):
        for name in sorted(data):
            rounds = ", ".join(f"r{r} {v[0]:.3g}" for r, v in sorted(data[name].items()))
            print(f"- {side} {name}: {rounds}")


if __name__ == "__main__":
    main()
