#!/usr/bin/python3
"""PyTorch training-step timings for the Salient benchmark (called by bench/run.sh --train).

Needs Debian's interpreter (/usr/bin/python3: torch 1.13).

    torch_train.py --arch resnet-mini --size 96 --batch 32 --classes 10 \
                   --warmup 2 --iterations 10 [--optimizer adam|sgd] [--threads N]

The network is Salient's built `resnet-mini` (src/Salient.Training/Architectures.cs)
written in torch.nn: a 3x3 stride-2 conv-BN-ReLU stem with 24 filters, three torchvision-style
basic blocks (24, 48, 96 filters; strides 1, 2, 2; a 1x1 conv-BN shortcut where the shape
changes), global average pooling and a linear layer; convolutions without bias, BN eps 1e-5 and
momentum 0.1 (ONNX's 0.9). A step is what `salient bench train` times: forward in training
mode, softmax cross-entropy, backward, and an Adam (lr 1e-3) or Nesterov SGD step, on random
images normalised with mean 0.5 and std 0.25 and labels index % classes, made before the clock
starts (Salient's side makes its random pixels inside the step, so this favours PyTorch).

Prints ONE JSON line shaped like torch_forward.py's `forward` output, plus "arch" and "optimizer".
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import torch_forward  # noqa: E402  (rss_mb(), timing_summary(): same conventions)


def resnet_mini(nn, channels, classes):
    def conv_bn(cin, cout, kernel, stride):
        return [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)]

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.body = nn.Sequential(*conv_bn(cin, cout, 3, stride), nn.ReLU(), *conv_bn(cout, cout, 3, 1))
            self.shortcut = nn.Sequential(*conv_bn(cin, cout, 1, stride)) if stride != 1 or cin != cout else nn.Identity()
            self.relu = nn.ReLU()

        def forward(self, x):
            return self.relu(self.body(x) + self.shortcut(x))

    return nn.Sequential(
        *conv_bn(channels, 24, 3, 2), nn.ReLU(),
        BasicBlock(24, 24, 1), BasicBlock(24, 48, 2), BasicBlock(48, 96, 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(96, classes))


def main():
    ap = argparse.ArgumentParser(description="PyTorch training-step timings for bench/run.sh --train")
    ap.add_argument("--arch", default="resnet-mini", choices=["resnet-mini"])
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--channels", type=int, default=3)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--optimizer", default="adam", choices=["adam", "sgd"])
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--threads", type=int, default=0, help="0 = os.cpu_count()")
    args = ap.parse_args()

    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    threads = args.threads or os.cpu_count()
    torch.set_num_threads(threads)
    after_import = torch_forward.rss_mb()
    torch.manual_seed(1)
    model = resnet_mini(nn, args.channels, args.classes).train()
    optimizer = (torch.optim.Adam(model.parameters(), lr=1e-3) if args.optimizer == "adam"
                 else torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, nesterov=True))
    gen = torch.Generator().manual_seed(1)
    steps = args.warmup + args.iterations
    batches = [((torch.rand(args.batch, args.channels, args.size, args.size, generator=gen) - 0.5) / 0.25,
                torch.arange(b * args.batch, (b + 1) * args.batch) % args.classes) for b in range(steps)]

    times = []
    for b, (x, y) in enumerate(batches):
        t0 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        if b >= args.warmup:
            times.append(time.perf_counter() - t0)
    assert bool(torch.isfinite(loss))
    result = {
        "arch": args.arch, "optimizer": args.optimizer, "batch": args.batch, "size": args.size,
        "threads": threads, "iterations": args.iterations,
        **torch_forward.timing_summary(times, args.batch, after_import),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
