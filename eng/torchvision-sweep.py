#!/usr/bin/python3
"""Export torchvision 0.14's classification models to ONNX and check Salient's logits against PyTorch's.

Not part of CI (it exports dozens of models at several opsets; hours on 2 cores). Run from the
repository root with Debian's interpreter, in the background on a shared machine:

    nice -n 15 /usr/bin/python3 eng/torchvision-sweep.py [--opsets 13,14,15,16,17] [--models convnext_tiny,vit_b_16]
        [--size 96] [--skip-larger-than 1000] > bench/work/sweep/log.txt 2>&1 &

Each model is built once (random seeded weights, eval mode), then its batch-norm statistics are
calibrated on a batch of random inputs (see `calibrate`), PyTorch's logits for one seeded input are
computed once in float32 and once in float64, and the model is exported with torch.onnx.export
(static shapes, constant folding on) at every opset asked for, to bench/work/sweep/NAME.opN/model.onnx
(PyTorch writes the weights of a model over 2 GB beside it as ONNX external data). `salient bench
parity` runs Salient on it. Differences are |a - b| / max(1, |b|), largest over the logits:

  match          Salient's logits are within 1e-4 of PyTorch's float64 ones (the exact result the
                 float32 computations approximate);
  float32-bound  they are not, but PyTorch's own float32 logits are not either and Salient is no
                 further off than twice PyTorch's distance: the model's random weights amplify
                 float32 rounding past 1e-4, which no float32 engine can meet (inception_v3);
  MISMATCH       anything else.

Salient's distance to PyTorch's float32 logits is recorded too (vs_torch32).

Input size: convolutional networks are checked at --size (96 by default; the cost falls with the
square of it). The vision transformers (ViT, Swin, MaxViT) need their fixed 224x224, and so do
AlexNet and the VGGs, whose adaptive average pooling to 6x6 / 7x7 exports only when the feature map
is a multiple of it. inception_v3 runs at its own 299x299: smaller inputs leave 1x1 maps in its last
blocks, whose batch-norm statistics then come from 4 values, and its float32 error grows to 1e-2.

Results go to bench/work/sweep/results.json (kept between runs; a row already done with this
protocol is not redone, so a killed sweep resumes) and a Markdown table on stdout (the README's).
Models run smallest first; models over --skip-larger-than million parameters are listed as skipped.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import warnings

import numpy as np
import torch
import torchvision

warnings.filterwarnings("ignore")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "bench", "work", "sweep")
# Bumped whenever the weights, inputs or check change, so old rows are redone rather than mixed in.
PROTOCOL = 2
FIXED_224 = ("vit_", "swin_", "maxvit_", "alexnet", "vgg")
TOLERANCE = 1e-4


def build_cli():
    out = os.path.join(WORK, "cli")
    subprocess.run(["dotnet", "build", os.path.join(ROOT, "src", "Salient.Cli"), "-c", "Release", "--nologo", "-v", "quiet", "-o", out],
                   check=True, stdout=subprocess.DEVNULL)
    return os.path.join(out, "salient.dll")


def input_size(name, size):
    if name == "inception_v3":
        return 299
    return 224 if name.startswith(FIXED_224) else size


def family(name):
    """efficientnet_b3 -> efficientnet, efficientnet_v2_s -> efficientnet_v2, wide_resnet50_2 -> wide."""
    return re.match(r"[a-z]+(_v\d)?", name).group(0)


def first(output):
    return output[0] if isinstance(output, tuple) else output


def max_rel(a, b):
    """Largest |a - b| / max(1, |b|), in float64."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float((np.abs(a - b) / np.maximum(1.0, np.abs(b))).max())


def calibrate(model, size):
    """Sets every batch norm's running statistics to those of a batch of random inputs.

    torchvision's initialisation leaves running_mean = 0 and running_var = 1, so in eval mode the
    batch norms normalise nothing: activations grow or shrink geometrically with depth. In
    inception_v3 they reach 1e12 and the logits cancel so badly that PyTorch's own float32 result is
    8.6e-4 (relative) away from its float64 one; in googlenet and the EfficientNets they vanish to
    0 or 1e-20, which matches anything. Calibrated statistics keep activations near unit scale, as
    in a trained model, so the comparison measures the engine rather than the conditioning. Only
    the batch norms run in training mode (the model stays in eval mode: no dropout, no auxiliary
    heads).
    """
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return False
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: one batch gives that batch's statistics
        m.train()
    gen = torch.Generator().manual_seed(2)
    with torch.no_grad():
        model(torch.randn(4, 3, size, size, generator=gen))
    for m in norms:
        m.eval()
    return True


def build(name, size):
    torch.manual_seed(0)
    model = torchvision.models.get_model(name, weights=None).eval()
    with torch.no_grad():
        # Heads initialised to zero (ViT, Swin) would give all-zero logits that match anything.
        for p in model.parameters():
            if p.dim() > 1 and not p.any():
                p.normal_(0, 0.02, generator=torch.Generator().manual_seed(1))
    calibrated = calibrate(model, size)
    return model, calibrated


def parameter_counts(names):
    """Millions of parameters per model, cached: building the largest models just to count them takes minutes."""
    path = os.path.join(WORK, "params.json")
    counts = json.load(open(path)) if os.path.exists(path) else {}
    for name in names:
        if name not in counts:
            model = torchvision.models.get_model(name, weights=None)
            counts[name] = round(sum(p.numel() for p in model.parameters()) / 1e6, 1)
            del model
            json.dump(counts, open(path, "w"), indent=1, sort_keys=True)
    return counts


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--opsets", default="13,14,15,16,17")
    parser.add_argument("--models", default="")
    parser.add_argument("--size", type=int, default=96, help="input size for the convolutional networks that accept it")
    parser.add_argument("--skip-larger-than", type=float, default=1000.0, help="millions of parameters")
    parser.add_argument("--keep", action="store_true", help="keep the exported .onnx files")
    parser.add_argument("--redo", action="store_true", help="redo rows already in results.json")
    parser.add_argument("--no-build", action="store_true", help="use the CLI the last run built")
    parser.add_argument("--table-only", action="store_true", help="print the table from results.json and stop")
    args = parser.parse_args()
    os.makedirs(WORK, exist_ok=True)
    torch.set_num_threads(os.cpu_count())
    names = args.models.split(",") if args.models else sorted(torchvision.models.list_models(module=torchvision.models))
    opsets = [int(o) for o in args.opsets.split(",")]
    results_path = os.path.join(WORK, "results.json")
    results = json.load(open(results_path)) if os.path.exists(results_path) else {}
    if not args.table_only:
        run(names, opsets, args, results, results_path)
    print_table(names, opsets, results, args.size)


def run(names, opsets, args, results, results_path):
    dll = os.path.join(WORK, "cli", "salient.dll") if args.no_build else build_cli()
    params = parameter_counts(names)
    # The smallest model of each family first (vgg, vit, swin_v2, ...), then the rest by size: a sweep
    # cut short by the clock still covers every architecture.
    firsts = {min((n for n in names if family(n) == f), key=lambda n: params[n]) for f in {family(n) for n in names}}
    def save():
        json.dump(results, open(results_path, "w"), indent=1, sort_keys=True)

    for name in sorted(names, key=lambda n: (n not in firsts, params[n])):
        todo = [o for o in opsets if args.redo or results.get(f"{name}@{o}", {}).get("protocol") != PROTOCOL]
        if not todo:
            continue
        size = input_size(name, args.size)
        base = {"model": name, "params_m": params[name], "size": size, "protocol": PROTOCOL}
        if params[name] > args.skip_larger_than:
            for o in todo:
                results[f"{name}@{o}"] = dict(base, opset=o, status=f"skipped ({params[name]:.0f} M parameters)")
            save()
            continue
        start = time.time()
        model, calibrated = build(name, size)
        base["bn_calibrated"] = calibrated
        x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0))
        input_path = os.path.join(WORK, f"input{size}.npy")
        np.save(input_path, x.numpy())
        logits_path = os.path.join(WORK, f"{name}.logits.npy")
        with torch.no_grad():
            logits = first(model(x)).numpy()
            try:
                exact = first(model.double()(x.double())).numpy()
                base["reference"] = "float64"
            except RuntimeError as e:  # a model that builds float32 tensors inside forward
                print(f"{name}: no float64 run ({str(e).splitlines()[0][:120]}); float32 reference", flush=True)
                exact = logits
                base["reference"] = "float32"
            model.float()
        base["torch32_vs_64"] = max_rel(logits, exact)
        np.save(logits_path, exact.astype(np.float32))
        print(f"{name}: built, calibrated and run in {time.time() - start:.0f}s", flush=True)
        for opset in todo:
            key = f"{name}@{opset}"
            row = dict(base, opset=opset)
            start = time.time()
            folder = os.path.join(WORK, f"{name}.op{opset}")
            shutil.rmtree(folder, ignore_errors=True)
            os.makedirs(folder)
            path = os.path.join(folder, "model.onnx")
            try:
                torch.onnx.export(model, x, path, opset_version=opset, input_names=["input"], output_names=["logits"])
            except Exception as e:  # an export PyTorch 1.13 refuses is a result too
                row["status"] = "export failed: " + str(e).splitlines()[0][:200]
                results[key] = row
                save()
                print(key, row["status"], flush=True)
                shutil.rmtree(folder, ignore_errors=True)
                continue
            row["external_data"] = len(os.listdir(folder)) > 1
            row["export_seconds"] = round(time.time() - start, 1)
            output_path = os.path.join(WORK, f"{name}.salient.npy")
            proc = subprocess.run(["dotnet", dll, "bench", "parity", "--model", path, "--input", input_path, "--expected", logits_path,
                                   "--output", output_path, "--json"], capture_output=True, text=True)
            try:
                report = json.loads(proc.stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                report = {"error": (proc.stderr or proc.stdout).strip()[:300]}
            report.pop("model", None)  # the file name; the row keeps the architecture
            row.update(report)
            if "error" in report:
                row["status"] = "error: " + report["error"]
            else:
                # max_rel_diff: Salient against the reference (float64 where PyTorch could run it).
                row["vs_torch32"] = max_rel(np.load(output_path), logits)
                rel = report["max_rel_diff"]
                row["status"] = ("match" if rel <= TOLERANCE
                                 else "float32-bound" if row["torch32_vs_64"] > TOLERANCE and rel <= 2 * row["torch32_vs_64"]
                                 else "MISMATCH")
            results[key] = row
            print(key, row["status"], report.get("max_rel_diff"), row.get("vs_torch32"), f"torch32 {row['torch32_vs_64']:.1e}", f"{time.time() - start:.0f}s", flush=True)
            if not args.keep:
                shutil.rmtree(folder, ignore_errors=True)
            save()
        del model


def cell(row):
    if row is None:
        return "not run"
    if row["status"] in ("match", "float32-bound", "MISMATCH"):
        return f"{row['status']} ({row['max_rel_diff']:.0e})"
    refused = re.match(r"export failed: Exporting the operator '([^']+)'", row["status"])
    return f"PyTorch cannot export ({refused.group(1)})" if refused else row["status"]


def print_table(names, opsets, results, size):
    """The README's table: one row per model that ran, then the models not run, by family."""
    params_path = os.path.join(WORK, "params.json")
    params = json.load(open(params_path)) if os.path.exists(params_path) else {}
    print()
    print("| model | params (M) | input | PyTorch float32 vs float64 | " + " | ".join(f"opset {o}" for o in opsets) + " |")
    print("|---|---:|---:|---:|" + "---|" * len(opsets))
    not_run = []
    for name in names:
        rows = [results.get(f"{name}@{o}") for o in opsets]
        rows = [r if r and r.get("protocol") == PROTOCOL else None for r in rows]
        done = next((r for r in rows if r), None)
        if done is None:
            not_run.append(f"{name} ({params[name]} M)" if name in params else name)
            continue
        floor = f"{done['torch32_vs_64']:.0e}" if done.get("reference") == "float64" else "(float32 reference)"
        print(f"| {name} | {done['params_m']} | {done['size']}² | {floor} | " + " | ".join(cell(r) for r in rows) + " |")
    if not_run:
        print()
        print("Not run: " + ", ".join(not_run) + ".")


if __name__ == "__main__":
    sys.exit(main())
