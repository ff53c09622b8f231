#!/usr/bin/python3
"""Turn bench/work/*.json into the Markdown tables of bench/run.sh.

Standard library only. Missing or failed measurements show as "n/a" so a
partial run (e.g. Salient's command not implemented yet) still gives a table.

Engines: Salient, PyTorch 1.13, ONNX Runtime 1.31 and libtorch 2.10 (through
TorchSharp), forward files <engine>_<model>_b<batch>.json. Ratios are Salient /
the other engine: speed ratio > 1 means Salient is faster, memory ratio < 1
means Salient needs less. With several rounds (run.sh --rounds N: files
<name>.rK.json) the figures are the median round's and a ratio is the median of
the per-round ratios, each from measurements taken back to back.
"""

import argparse
import datetime
import glob
import json
import os
import platform
import re
import statistics


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def rounds(w, name, legacy=None):
    """{round: record} of <name>.r<K>.json (bench/run.sh --rounds), or {1: <name>.json} from older
    runs; `legacy` is a name older runs used for the same measurement."""
    found = {}
    for path in glob.glob(os.path.join(w, f"{name}.r*.json")):
        m = re.search(r"\.r(\d+)\.json$", path)
        rec = load(path)
        if m and rec is not None:
            found[int(m.group(1))] = rec
    if not found:
        rec = load(os.path.join(w, f"{name}.json"))
        if rec is not None:
            found[1] = rec
    if not found and legacy:
        return rounds(w, legacy)
    return found


def median_record(series):
    """The record of the median round by images/s (the lower middle one for an even count)."""
    recs = sorted((r for r in series.values() if num(r, "images_per_second") is not None),
                  key=lambda r: num(r, "images_per_second"))
    return recs[(len(recs) - 1) // 2] if recs else None


def paired_ratios(s_series, t_series, scale=lambda t, s: 1.0):
    """Salient/PyTorch speed ratio per round measured on both sides (each pair ran back to back)."""
    out = []
    for k in sorted(set(s_series) & set(t_series)):
        s_ips, t_ips = num(s_series[k], "images_per_second"), num(t_series[k], "images_per_second")
        if s_ips is not None and t_ips:
            out.append(s_ips / (t_ips * scale(t_series[k], s_series[k])))
    return out


def rounds_note(label, t_series, s_series, ratios):
    if len(ratios) < 2:
        return None
    ips = lambda series: ", ".join(fmt_sig(num(series[k], "images_per_second")) for k in sorted(series))
    return (f"- {label}: {len(ratios)} rounds, ratio median {fmt_sig(statistics.median(ratios))} "
            f"(range {fmt_sig(min(ratios))}-{fmt_sig(max(ratios))}); PyTorch img/s {ips(t_series)}; "
            f"Salient img/s {ips(s_series)}")


def num(d, *keys):
    """First present numeric field; peak RSS falls back to the outside /usr/bin/time figure."""
    if not d:
        return None
    for k in keys:
        v = d.get(k)
        if isinstance(v, (int, float)):
            return float(v)
    return None


def fmt(v, digits=1):
    return "n/a" if v is None else f"{v:.{digits}f}"


def fmt_sig(v, sig=3):
    """Significant digits: Score-CAM's rates are far below 0.001 img/s."""
    return "n/a" if v is None else f"{v:.{sig}g}"


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


# (PyTorch variant, Salient method, row label, speed goal for Salient/PyTorch, libtorch (TorchSharp)
# method measured the same way or None)
EXPLAIN_ROWS = [
    ("gradcam-full", "gradcam", "Grad-CAM vs pytorch-grad-cam loop (full backward incl. parameter grads)", 2.0, None),
    ("gradcam", "gradcam", "Grad-CAM vs backward only to layer4", 1.0, "gradcam"),
    ("guided-backprop", "guided-backprop", "guided backprop (ReLU override)", 1.0, "guided-backprop"),
    ("tsgb", "tsgb", "TSGB", 1.0, None),
    ("scorecam", "scorecam", "Score-CAM", None, None),
    ("shapleycam-full", "shapleycam", "Shapley-CAM vs pytorch-grad-cam loop (create_graph backward to the input, then the Hessian-vector product)", None, None),
    ("shapleycam", "shapleycam", "Shapley-CAM (ReST score; Salient: J·A by one forward-mode pass, PyTorch: create_graph)", None, None),
    ("dff-full", "dff", "Deep Feature Factorization vs pytorch-grad-cam (one NMF of the batch, scikit-learn's coordinate descent)", None, None),
    ("dff", "dff", "Deep Feature Factorization (5 concepts, 200 updates)", None, None),
]

# The engines of the forward tables: (file prefix, column name, short name for the ratio columns).
# Salient comes first: every ratio is Salient / another engine.
ENGINES = [
    ("salient", "Salient", "Salient"),
    ("torch", "PyTorch 1.13", "PyTorch"),
    ("ort", "ONNX Runtime 1.31", "ORT"),
    ("torchsharp", "libtorch 2.10 (TorchSharp)", "libtorch"),
]


def explain_section(w, model, iterations):
    """Rows of the explanation benchmark (bench/run.sh --explain)."""
    lines = [
        "",
        f"## Explanations: {model}, batch 8, 224x224, target = top-1 per image, "
        f"{iterations or '?'} timed iterations after 1 warm-up",
        "",
        "| method | PyTorch img/s | Salient img/s | ratio | goal | libtorch img/s | Salient / libtorch "
        "| ONNX Runtime | PyTorch peak MB | Salient peak MB | libtorch peak MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes = []
    for variant, method, label, goal, libtorch_method in EXPLAIN_ROWS:
        t_series = rounds(w, f"torch_explain_{variant}")
        s_series = rounds(w, f"salient_explain_{method}")
        l_series = rounds(w, f"torchsharp_explain_{libtorch_method}") if libtorch_method else {}
        lt = median_record(l_series)
        l_ratios = paired_ratios(s_series, l_series)
        l_r = statistics.median(l_ratios) if l_ratios else None
        libtorch_cells = (f"{fmt_sig(num(lt, 'images_per_second'))} | {fmt_sig(l_r)}" if libtorch_method
                          else "— | —")
        t, s = median_record(t_series), median_record(s_series)
        t_ips, s_ips = num(t, "images_per_second"), num(s, "images_per_second")
        scale = lambda t_rec, s_rec: 1.0
        if variant == "scorecam" and t and t.get("channels") and t.get("channels_total"):
            # PyTorch masked only `channels` of the layer's channels; rescale it to
            # the channel count Salient used (all of them unless its JSON says otherwise),
            # since the masked forwards dominate and scale linearly.
            s_ch = (s or {}).get("channels") or t["channels_total"]
            scale = lambda t_rec, s_rec: t_rec["channels"] / ((s_rec or {}).get("channels") or t_rec["channels_total"])
            if t_ips is not None:
                t_ips = t_ips * t["channels"] / s_ch
            label += f" (PyTorch timed on {t['channels']} of {t['channels_total']} channels, scaled to {s_ch})"
        ratios = paired_ratios(s_series, t_series, scale)
        r = statistics.median(ratios) if ratios else ratio(s_ips, t_ips)
        verdict = "" if goal is None or r is None else (" ok" if r >= goal else " MISSED")
        goal_s = "report" if goal is None else f">= {goal:g}{verdict}"
        lines.append(f"| {label} | {fmt_sig(t_ips)} | {fmt_sig(s_ips)} | {fmt_sig(r)} | {goal_s} | "
                     # Score-CAM and DFF need only forward passes, but the ONNX Runtime harness has neither.
                     f"{libtorch_cells} | {'n/a' if variant in ('scorecam', 'dff', 'dff-full') else 'n/a (no backward)'} | "
                     f"{fmt(num(t, 'peak_rss_mb', 'time_maxrss_mb'), 0)} | "
                     f"{fmt(num(s, 'peak_rss_mb', 'time_maxrss_mb'), 0)} | "
                     f"{fmt(num(lt, 'peak_rss_mb', 'time_maxrss_mb'), 0) if libtorch_method else '—'} |")
        if t:
            measured = (f" (measured on {t['channels']} channels: {fmt_sig(num(t, 'images_per_second'))} img/s)"
                        if variant == "scorecam" and t.get("channels") else "")
            notes.append(f"- PyTorch {variant}: best batch {fmt_sig(num(t, 'images_per_second_best'))} img/s, "
                         f"1-min load average {fmt(num(t, 'load_average_1m'), 2)}{measured}")
        note = rounds_note(f"{variant} vs Salient {method}", t_series, s_series, ratios)
        if note:
            notes.append(note)
        if len(l_ratios) >= 2:
            notes.append(f"- libtorch {libtorch_method} vs Salient {method}: {len(l_ratios)} rounds, ratio median "
                         f"{fmt_sig(l_r)} (range {fmt_sig(min(l_ratios))}-{fmt_sig(max(l_ratios))}); libtorch img/s "
                         + ", ".join(fmt_sig(num(l_series[k], "images_per_second")) for k in sorted(l_series)))
    if notes:
        lines += ["", "Explanation notes:"] + notes
    return lines


def train_section(w):
    """The training-step row (bench/run.sh --train)."""
    t_series, s_series = rounds(w, "torch_train"), rounds(w, "salient_train")
    t, s = median_record(t_series), median_record(s_series)
    t_ips, s_ips = num(t, "images_per_second"), num(s, "images_per_second")
    ratios = paired_ratios(s_series, t_series)
    r = statistics.median(ratios) if ratios else ratio(s_ips, t_ips)
    arch = (s or t or {}).get("arch", "resnet-mini")
    lines = [
        "",
        f"## Training steps: {arch}, batch {(s or t or {}).get('batch', 32)}, random images, Adam "
        "(forward, cross-entropy, backward, optimizer step)",
        "",
        "| model | PyTorch img/s | Salient img/s | ratio | PyTorch peak MB | Salient peak MB |",
        "|---|---:|---:|---:|---:|---:|",
        f"| {arch} | {fmt_sig(t_ips)} | {fmt_sig(s_ips)} | {fmt_sig(r)} | "
        f"{fmt(num(t, 'peak_rss_mb', 'time_maxrss_mb'), 0)} | {fmt(num(s, 'peak_rss_mb', 'time_maxrss_mb'), 0)} |",
    ]
    note = rounds_note(f"{arch} training", t_series, s_series, ratios)
    if note:
        lines += ["", note]
    return lines


def forward_section(w, models, batches):
    """The forward tables (images/s with Salient's paired ratios, then peak memory) and their notes."""
    others = ENGINES[1:]
    speed = [
        "",
        "| model | batch | " + " | ".join(f"{name} img/s" for _, name, _ in ENGINES) + " | "
        + " | ".join(f"Salient / {short}" for _, _, short in others) + " |",
        "|---|---:|" + "---:|" * (len(ENGINES) + len(others)),
    ]
    memory = [
        "",
        "Peak memory (resident set high-water mark of each engine's process), MB:",
        "",
        "| model | batch | " + " | ".join(name for _, name, _ in ENGINES) + " | "
        + " | ".join(f"Salient / {short}" for _, _, short in others) + " |",
        "|---|---:|" + "---:|" * (len(ENGINES) + len(others)),
    ]
    notes, backends = [], {}
    for m in models:
        for b in batches:
            # Runs before the batch sweep wrote batch 8 as <engine>_<model>.json.
            series = {e: rounds(w, f"{e}_{m}_b{b}", legacy=f"{e}_{m}" if b == 8 else None) for e, _, _ in ENGINES}
            med = {e: median_record(series[e]) for e, _, _ in ENGINES}
            ips = {e: num(med[e], "images_per_second") for e, _, _ in ENGINES}
            mb = {e: num(med[e], "peak_rss_mb", "time_maxrss_mb") for e, _, _ in ENGINES}
            ratios = {e: paired_ratios(series["salient"], series[e]) for e, _, _ in others}
            speed_r = {e: statistics.median(ratios[e]) if ratios[e] else ratio(ips["salient"], ips[e]) for e, _, _ in others}
            speed.append(f"| {m} | {b} | " + " | ".join(fmt_sig(ips[e]) for e, _, _ in ENGINES) + " | "
                         + " | ".join(fmt(speed_r[e], 2) for e, _, _ in others) + " |")
            memory.append(f"| {m} | {b} | " + " | ".join(fmt(mb[e], 0) for e, _, _ in ENGINES) + " | "
                          + " | ".join(fmt(ratio(mb["salient"], mb[e]), 2) for e, _, _ in others) + " |")
            # Salient's JSON has neither the best batch nor the load average.
            best = [f"{short} {fmt_sig(num(med[e], 'images_per_second_best'))}" for e, _, short in ENGINES
                    if num(med[e], "images_per_second_best") is not None]
            loads = [num(med[e], "load_average_1m") for e, _, _ in ENGINES if num(med[e], "load_average_1m") is not None]
            if best:
                notes.append(f"- {m} batch {b}: best batch img/s {', '.join(best)}; 1-min load average "
                             f"{fmt(min(loads), 2)}-{fmt(max(loads), 2)}")
            for e, name, short in others:
                if len(ratios[e]) >= 2:
                    per_round = lambda e_: ", ".join(fmt_sig(num(series[e_][k], "images_per_second")) for k in sorted(series[e_]))
                    notes.append(f"  - Salient / {short}: {len(ratios[e])} rounds, median {fmt_sig(statistics.median(ratios[e]))} "
                                 f"(range {fmt_sig(min(ratios[e]))}-{fmt_sig(max(ratios[e]))}); "
                                 f"{name} img/s {per_round(e)}; Salient img/s {per_round('salient')}")
            for e, name, _ in ENGINES:
                if med[e] and med[e].get("backend"):
                    backends.setdefault(name, med[e]["backend"])
    notes += [f"- {name} backend: {backend}" for name, backend in backends.items()]
    return speed + memory, notes


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", default="bench/work")
    ap.add_argument("--models", nargs="*", default=["resnet18", "resnet50", "mobilenet_v2"])
    ap.add_argument("--batches", nargs="+", type=int, default=[1, 8, 64])
    ap.add_argument("--iterations", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--out", default=None)
    ap.add_argument("--explain", action="store_true", help="add the explanation table (run.sh --explain)")
    ap.add_argument("--explain-model", default="resnet50")
    ap.add_argument("--explain-iterations", type=int, default=0)
    ap.add_argument("--train", action="store_true", help="add the training-step table (run.sh --train)")
    args = ap.parse_args()
    w = args.work

    batches = ", ".join(str(b) for b in args.batches)
    lines = [
        "# CPU forward pass: Salient, PyTorch, ONNX Runtime, libtorch",
        "",
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {cpu_name()}, "
        f"{os.cpu_count()} logical CPUs, intra-op threads {args.threads or 'default'} "
        f"(PyTorch, ONNX Runtime, libtorch; Salient uses every core), batch {batches}, 224x224, "
        f"{args.iterations or '?'} timed iterations after 2 warm-up"
        + (f", {args.rounds} rounds: the median round's figures, the median of the paired per-round ratios."
           if args.rounds > 1 else "."),
    ]
    forward_lines, notes = forward_section(w, args.models, args.batches)
    lines += forward_lines
    lines.append("")
    g = rounds(w, "gemm").get(1)  # measured in the first round only
    tg = rounds(w, "torch_gemm").get(1)
    gf, peak = num(g, "gflops"), num(g, "peak_gflops")
    size = (g or tg or {}).get("size", 1024)
    eff = ratio(gf, peak)
    if g:
        line = (f"GEMM {size}x{size} float32: Salient {fmt(gf)} GFLOP/s (peak {fmt(peak)}"
                f"{', %.0f%% of peak' % (eff * 100) if eff is not None else ''}"
                f"{', ' + g['backend'] if g.get('backend') else ''}"
                f"{', kernel ' + g['kernel'] if g.get('kernel') else ''}"
                f"{', %d lanes' % g['vector_lanes'] if g.get('vector_lanes') else ''})")
    else:
        line = f"GEMM {size}x{size} float32: Salient n/a"
    if tg:
        line += f"; PyTorch torch.mm {fmt(num(tg, 'gflops'))} GFLOP/s"
    lines.append(line)
    if notes:
        lines += ["", "Notes:"] + notes
    if args.explain:
        lines += explain_section(w, args.explain_model, args.explain_iterations)
    if args.train:
        lines += train_section(w)
    lines.append("")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
