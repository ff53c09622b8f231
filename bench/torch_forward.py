#!/usr/bin/python3
"""PyTorch side of the Salient benchmark (called by bench/run.sh).

Needs Debian's interpreter (/usr/bin/python3: torch 1.13, torchvision 0.14).

    torch_forward.py export  --model resnet50 --out bench/work/resnet50.onnx
    torch_forward.py forward --model resnet50 --batch 8 --size 224 \
                             --warmup 2 --iterations 5 [--threads N]
    torch_forward.py gemm    --size 1024 [--threads N]

`forward` prints ONE JSON line shaped like `salient bench forward --json`:
    {"model", "batch", "size", "threads", "iterations", "images_per_second",
     "seconds_per_batch", "seconds_per_batch_min", "seconds_per_batch_median",
     "images_per_second_best", "load_average_1m", "peak_rss_mb",
     "rss_after_import_mb", "backend"}
images_per_second is batch / mean seconds_per_batch over the timed iterations.

Export and forward run as separate processes on purpose: peak RSS is a
process-lifetime high-water mark, and the exporter's temporary graph copies
would otherwise be charged to inference.
"""

import argparse
import json
import os
import resource
import sys
import time

# torchvision models bench/run.sh can export and time (random weights, so no download).
MODELS = ["resnet18", "resnet50", "mobilenet_v2", "convnext_tiny"]


def timing_summary(times, batch, after_import):
    """Throughput, spread, load and memory figures shared by the forward and explain benchmarks."""
    import torch
    mean = sum(times) / len(times)
    return {
        "images_per_second": round(batch / mean, 3),
        "seconds_per_batch": round(mean, 4),
        "seconds_per_batch_min": round(min(times), 4),
        "seconds_per_batch_median": round(sorted(times)[len(times) // 2], 4),
        # On a shared 2-core box a single busy neighbour stalls every OpenMP
        # barrier; the best batch is the more reproducible figure.
        "images_per_second_best": round(batch / min(times), 3),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "peak_rss_mb": round(rss_mb(), 1),
        "rss_after_import_mb": round(after_import, 1),
        "backend": backend_name(torch),
    }


def rss_mb():
    """Peak RSS of this process so far. ru_maxrss is KiB on Linux."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def backend_name(torch):
    """Which kernels PyTorch uses for convs: oneDNN (mkldnn) if built in, else its own."""
    parts = [f"pytorch {torch.__version__}"]
    if torch.backends.mkldnn.is_available():
        parts.append("onednn")
    blas = [kv.split("=", 1)[1] for kv in torch.__config__.show().replace(",", "\n").split()
            if kv.startswith("BLAS_INFO=")]
    if blas:
        parts.append("blas=" + blas[0])
    return "cpu/" + "+".join(parts)


def build(name):
    import torch
    import torchvision
    # Seeded random weights (weights=None): identical to what `export` wrote,
    # and no download needed. Speed does not depend on the weight values.
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None)
    return model.eval()


def cmd_export(args):
    import torch
    model = build(args.model)
    x = torch.randn(1, 3, args.size, args.size)
    tmp = args.out + ".tmp"
    # Default TrainingMode.EVAL: Conv+BN are folded, like a typical user export.
    # Dynamic batch so the engine can be benchmarked at any batch size.
    torch.onnx.export(model, x, tmp, opset_version=13, do_constant_folding=True,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    os.replace(tmp, args.out)  # never leave a half-written model that run.sh would then skip
    print(f"exported {args.model} -> {args.out} ({os.path.getsize(args.out) / 1e6:.1f} MB)", file=sys.stderr)


def cmd_forward(args):
    import torch
    threads = args.threads or os.cpu_count()
    torch.set_num_threads(threads)
    after_import = rss_mb()
    model = build(args.model)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(args.batch, 3, args.size, args.size, generator=gen)
    times = []
    with torch.no_grad():
        for _ in range(args.warmup):
            model(x)
        for _ in range(args.iterations):
            t0 = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - t0)
    print(json.dumps({
        "model": args.model, "batch": args.batch, "size": args.size, "threads": threads,
        "iterations": args.iterations,
        **timing_summary(times, args.batch, after_import),
    }))


def cmd_gemm(args):
    """float32 square matmul throughput: the yardstick for `salient bench gemm`."""
    import torch
    threads = args.threads or os.cpu_count()
    torch.set_num_threads(threads)
    n = args.size
    gen = torch.Generator().manual_seed(2)
    a = torch.randn(n, n, generator=gen)
    b = torch.randn(n, n, generator=gen)
    c = torch.empty(n, n)
    for _ in range(3):
        torch.mm(a, b, out=c)
    times = []
    for _ in range(args.iterations):
        t0 = time.perf_counter()
        torch.mm(a, b, out=c)
        times.append(time.perf_counter() - t0)
    flop = 2.0 * n ** 3
    print(json.dumps({
        "size": n, "threads": threads, "backend": backend_name(torch),
        "gflops": round(flop / (sum(times) / len(times)) / 1e9, 2),
        "gflops_best": round(flop / min(times) / 1e9, 2),
        "peak_rss_mb": round(rss_mb(), 1),
    }))


def main():
    ap = argparse.ArgumentParser(description="PyTorch reference for bench/run.sh")
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export")
    e.add_argument("--model", required=True, choices=MODELS)
    e.add_argument("--out", required=True)
    e.add_argument("--size", type=int, default=224)
    f = sub.add_parser("forward")
    f.add_argument("--model", required=True, choices=MODELS)
    f.add_argument("--batch", type=int, default=8)
    f.add_argument("--size", type=int, default=224)
    f.add_argument("--warmup", type=int, default=2)
    f.add_argument("--iterations", type=int, default=5)
    f.add_argument("--threads", type=int, default=0, help="0 = os.cpu_count()")
    g = sub.add_parser("gemm")
    g.add_argument("--size", type=int, default=1024)
    g.add_argument("--iterations", type=int, default=10)
    g.add_argument("--threads", type=int, default=0, help="0 = os.cpu_count()")
    args = ap.parse_args()
    {"export": cmd_export, "forward": cmd_forward, "gemm": cmd_gemm}[args.cmd](args)


if __name__ == "__main__":
    main()
