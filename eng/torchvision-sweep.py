#!/usr/bin/python3
"""Export torchvision 0.14's classification models to ONNX and check Salient's logits against PyTorch's.

Not part of CI (it exports dozens of models; hours on 2 cores). Run from the repository root with
Debian's interpreter:

    /usr/bin/python3 eng/torchvision-sweep.py [--opsets 13,17] [--models convnext_tiny,vit_b_16] [--skip-larger-than 400]

For each model and opset: random (seeded) weights, eval mode, one seeded 224x224 input (batch 1),
exported with torch.onnx.export (static shapes, constant folding on) to bench/work/sweep/NAME.opN.onnx
with NAME.input.npy and NAME.opN.logits.npy, then `salient bench parity` compares Salient's logits
(match: |a - b| <= 1e-4 * max(1, |b|) everywhere). Results go to bench/work/sweep/results.json and a
Markdown table on stdout (the README's table). Models over --skip-larger-than million parameters
are listed as skipped (an export over 2 GB needs external data, and a 2-core machine takes too long).
"""

import argparse
import io
import json
import os
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


def build_cli():
    out = os.path.join(WORK, "cli")
    subprocess.run(["dotnet", "build", os.path.join(ROOT, "src", "Salient.Cli"), "-c", "Release", "--nologo", "-v", "quiet", "-o", out],
                   check=True, stdout=subprocess.DEVNULL)
    return os.path.join(out, "salient.dll")


def export(name, opset, x):
    torch.manual_seed(0)
    model = torchvision.models.get_model(name, weights=None).eval()
    with torch.no_grad():
        # Heads initialised to zero (ViT, Swin) would give all-zero logits that match anything.
        for p in model.parameters():
            if p.dim() > 1 and not p.any():
                p.normal_(0, 0.02, generator=torch.Generator().manual_seed(1))
    params = sum(p.numel() for p in model.parameters())
    path = os.path.join(WORK, f"{name}.op{opset}.onnx")
    logits_path = os.path.join(WORK, f"{name}.op{opset}.logits.npy")
    with torch.no_grad():
        logits = model(x)
        if isinstance(logits, tuple):
            logits = logits[0]
    f = io.BytesIO()
    torch.onnx.export(model, x, f, opset_version=opset, input_names=["input"], output_names=["logits"])
    with open(path, "wb") as out:
        out.write(f.getvalue())
    np.save(logits_path, logits.numpy().astype(np.float32))
    return params, path, logits_path


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--opsets", default="13,17")
    parser.add_argument("--models", default="")
    parser.add_argument("--skip-larger-than", type=float, default=400.0, help="millions of parameters")
    parser.add_argument("--keep", action="store_true", help="keep the exported .onnx files")
    args = parser.parse_args()
    os.makedirs(WORK, exist_ok=True)
    torch.set_num_threads(os.cpu_count())
    names = args.models.split(",") if args.models else sorted(torchvision.models.list_models(module=torchvision.models))
    opsets = [int(o) for o in args.opsets.split(",")]
    dll = build_cli()
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, 3, 224, 224, generator=gen)
    input_path = os.path.join(WORK, "input.npy")
    np.save(input_path, x.numpy())
    results_path = os.path.join(WORK, "results.json")
    results = json.load(open(results_path)) if os.path.exists(results_path) else {}
    for name in names:
        params = sum(p.numel() for p in torchvision.models.get_model(name, weights=None).parameters()) / 1e6
        for opset in opsets:
            key = f"{name}@{opset}"
            row = {"model": name, "opset": opset, "params_m": round(params, 1)}
            if params > args.skip_larger_than:
                row["status"] = f"skipped ({params:.0f} M parameters)"
                results[key] = row
                continue
            start = time.time()
            try:
                _, path, logits_path = export(name, opset, x)
            except Exception as e:  # an export PyTorch 1.13 refuses is a result too
                row["status"] = "export failed: " + str(e).splitlines()[0][:200]
                results[key] = row
                print(key, row["status"], flush=True)
                continue
            proc = subprocess.run(["dotnet", dll, "bench", "parity", "--model", path, "--input", input_path, "--expected", logits_path, "--json"],
                                  capture_output=True, text=True)
            try:
                report = json.loads(proc.stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                report = {"error": (proc.stderr or proc.stdout).strip()[:300]}
            report.pop("model", None)  # the file name; the row keeps the architecture
            row.update(report)
            row["status"] = ("error: " + report["error"]) if "error" in report else ("match" if report["max_rel_diff"] <= 1e-4 else "MISMATCH")
            results[key] = row
            print(key, row["status"], report.get("max_rel_diff"), f"{time.time() - start:.0f}s", flush=True)
            if not args.keep:
                os.remove(path)
            json.dump(results, open(results_path, "w"), indent=1, sort_keys=True)
    json.dump(results, open(results_path, "w"), indent=1, sort_keys=True)
    print()
    print("| model | params (M) | " + " | ".join(f"opset {o}" for o in opsets) + " |")
    print("|---|---:|" + "---|" * len(opsets))
    for name in names:
        cells = []
        for o in opsets:
            r = results.get(f"{name}@{o}")
            if r is None:
                cells.append("not run")
            elif r["status"] == "match":
                cells.append(f"match ({r['max_rel_diff']:.1e})")
            else:
                cells.append(r["status"])
        params = next((r["params_m"] for k, r in results.items() if r["model"] == name), "")
        print(f"| {name} | {params} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    sys.exit(main())
