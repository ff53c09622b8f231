#!/usr/bin/python3
"""PyTorch explanation timings for the Salient benchmark (called by bench/run.sh --explain).

Needs Debian's interpreter (/usr/bin/python3: torch 1.13, torchvision 0.14).

    torch_explain.py --model resnet50 --method gradcam-full --batch 8 --size 224 \
                     --warmup 1 --iterations 3 [--threads N] [--scorecam-channels K]

Methods (every image of the batch gets its own top-1 target, raw-logit score):

  gradcam-full     the usual pytorch-grad-cam loop: forward hook on layer4 that
                   registers a tensor hook for the gradient, model.zero_grad(),
                   loss.backward(retain_graph=True) with parameter gradients,
                   Grad-CAM weights, ReLU, min-max, resize to the input.
  gradcam          same maps, but parameters are frozen and the graph starts at
                   layer4's output: torch.autograd.grad(score, activation).
  guided-backprop  every nn.ReLU's backward replaced by grad*1[x>0]*1[grad>0];
                   map = max_c |grad| / max.
  tsgb             tsgb.md section 1 (the implementation of
                   tests/fixtures/methods/make_method_fixtures.py); map = relu(S)/max.
  shapleycam-full  the pytorch-grad-cam ShapleyCAM loop (detach=False): hooks keep
                   layer4's output and its gradient in the graph, the ReST score
                   2·y_t - logsumexp(y) is differentiated to the input with
                   torch.autograd.grad(create_graph=True) through every layer and
                   parameter, then the Hessian-vector product
                   torch.autograd.grad(grads, a, grad_outputs=a); weights
                   mean(G - H·A/2).
  shapleycam       pytorch-grad-cam ShapleyCAM with ClassifierOutputReST, the graph
                   started at layer4's output: the ReST score's gradient with
                   create_graph, the Hessian-vector product with the activations.
  dff-full         pytorch-grad-cam's DeepFeatureFactorization: one NMF of the whole
                   batch's layer4 activations (channels x batch·positions, shifted
                   per channel to be non-negative) into 5 concepts by scikit-learn's
                   NMF as pytorch-grad-cam calls it (init='random', random_state=0,
                   coordinate descent, at most 200 iterations, tol 1e-4; written out
                   here in NumPy, as Debian has no scikit-learn), the concepts'
                   logits by model.fc, every concept map scaled to the input, the
                   map of the concept best for the target.
  dff              Deep Feature Factorization of layer4 as the fixtures define it
                   (5 concepts, 200 multiplicative updates in float64, per image),
                   the concepts' logits by model.fc, the map of the concept best
                   for the target.
  scorecam         pytorch-grad-cam Score-CAM (masked forwards in chunks of 16).
                   A ResNet-50 layer4 has 2048 channels, i.e. 2048 forwards per
                   image; --scorecam-channels K masks only the first K channels
                   and the JSON says so (channels, channels_total, and the
                   full-channel estimate images_per_second_all_channels).

Prints ONE JSON line shaped like torch_forward.py's `forward` output, plus
"method" (and the Score-CAM fields). The model is torchvision's with seeded
random weights (weights=None), the same as bench/work/MODEL.onnx. The layer is
a ResNet's layer4; --model convnext_tiny takes features[-1] instead (the last
stage, whose tail, global pooling, LayerNorm and Linear, is smooth: Shapley-CAM's
Hessian-vector product goes through the layer norm) and runs the methods that
need no ResNet head: gradcam-full, gradcam, shapleycam-full, shapleycam.
"""

import argparse
import contextlib
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import torch_forward  # noqa: E402  (build(), rss_mb(), backend_name(): same conventions)

CONVNEXT_METHODS = ["gradcam-full", "gradcam", "shapleycam-full", "shapleycam"]
METHODS = ["gradcam-full", "gradcam", "guided-backprop", "tsgb", "scorecam", "shapleycam-full", "shapleycam", "dff-full", "dff"]


def minmax(a):
    a = a - a.amin(dim=(-2, -1), keepdim=True)
    return a / (a.amax(dim=(-2, -1), keepdim=True) + 1e-7)


def cam_postprocess(torch, F, raw, size):
    """ReLU, resize (half-pixel bilinear), min-max: the project's CAM map."""
    return minmax(F.interpolate(raw.clamp(min=0)[:, None], size=size, mode="bilinear",
                                align_corners=False)[:, 0])


def make_gradcam_full(torch, F, model, layer):
    """pytorch-grad-cam's ActivationsAndGradients + BaseCAM.forward, reduced to Grad-CAM."""
    for p in model.parameters():
        p.requires_grad_(True)
    store = {}

    def fwd_hook(m, i, o):
        store["a"] = o.detach()

        def grad_hook(g):
            store["g"] = g.detach()
        o.register_hook(grad_hook)
    layer.register_forward_hook(fwd_hook)

    def run(x):
        y = model(x)
        targets = y.argmax(1)  # targets=None -> ClassifierOutputTarget(argmax)
        model.zero_grad()
        loss = y.gather(1, targets[:, None]).sum()
        loss.backward(retain_graph=True)
        a, g = store["a"], store["g"]
        raw = (g.mean(dim=(2, 3))[:, :, None, None] * a).sum(1)
        return cam_postprocess(torch, F, raw, x.shape[-2:])
    return run


def make_layer_cam(torch, F, model, layer, weights):
    """Backward only from the logits to layer4's output: the graph is started
    there by swapping the hook's output for a leaf that requires grad.
    weights(y, targets, a) gives the channel weights [B, K]."""
    for p in model.parameters():
        p.requires_grad_(False)
    store = {}

    def fwd_hook(m, i, o):
        a = o.detach().requires_grad_(True)
        store["a"] = a
        return a
    layer.register_forward_hook(fwd_hook)

    def run(x):
        y = model(x)
        a = store["a"]
        raw = (weights(y, y.argmax(1), a)[:, :, None, None] * a.detach()).sum(1)
        return cam_postprocess(torch, F, raw, x.shape[-2:])
    return run


def gradcam_weights(torch, y, targets, a):
    """Grad-CAM: the mean over positions of the target logit's gradient."""
    (g,) = torch.autograd.grad(y.gather(1, targets[:, None]).sum(), a)
    return g.mean(dim=(2, 3))


def shapleycam_weights(torch, y, targets, a):
    """ShapleyCAM: the mean of G - H·A/2 for the ReST score 2·y_t - logsumexp(y)."""
    rest = (2 * y.gather(1, targets[:, None])[:, 0] - torch.logsumexp(y, 1)).sum()
    (g,) = torch.autograd.grad(rest, a, create_graph=True)
    (hvp,) = torch.autograd.grad(g, a, grad_outputs=a.detach())
    return (g.detach() - 0.5 * hvp).mean(dim=(2, 3))


def make_shapleycam_full(torch, F, model, layer):
    """pytorch-grad-cam's ActivationsAndGradients (detach=False) + BaseCAM.forward + ShapleyCAM.get_cam_weights."""
    for p in model.parameters():
        p.requires_grad_(True)
    store = {}

    def fwd_hook(m, i, o):
        store["a"] = o

        def grad_hook(g):
            store["g"] = g
        o.register_hook(grad_hook)
    layer.register_forward_hook(fwd_hook)

    def run(x):
        xr = x.clone().requires_grad_(True)
        y = model(xr)
        targets = y.argmax(1)  # targets=None -> the top class, here scored by ClassifierOutputReST
        model.zero_grad()
        loss = (2 * y.gather(1, targets[:, None])[:, 0] - torch.logsumexp(y, 1)).sum()
        torch.autograd.grad(loss, xr, retain_graph=True, create_graph=True)
        a, g = store["a"], store["g"]
        (hvp,) = torch.autograd.grad(g, a, grad_outputs=a, retain_graph=True)
        w = (g - 0.5 * hvp).detach().mean(dim=(2, 3))
        return cam_postprocess(torch, F, (w[:, :, None, None] * a.detach()).sum(1), x.shape[-2:])
    return run


def nmf_coordinate_descent(np, X, k, max_iter=200, tol=1e-4, seed=0):
    """X ≈ W·H, W, H >= 0, as scikit-learn's NMF(init='random', solver='cd') fits it: random
    |normal|·sqrt(mean X / k) start, then alternating coordinate descent on W and H (one
    component at a time, every row at once), stopped when the projected-gradient
    violation falls to tol times the first iteration's."""
    rng = np.random.RandomState(seed)
    scale = np.sqrt(X.mean() / k)
    H = np.abs(scale * rng.standard_normal(size=(k, X.shape[1])).astype(X.dtype, copy=False))
    W = np.abs(scale * rng.standard_normal(size=(X.shape[0], k)).astype(X.dtype, copy=False))

    def update(X, W, Ht):
        HHt, XHt = Ht.T @ Ht, X @ Ht
        violation = 0.0
        for t in range(k):
            grad = W @ HHt[:, t] - XHt[:, t]
            violation += float(np.abs(np.where(W[:, t] == 0, np.minimum(grad, 0), grad)).sum())
            if HHt[t, t] != 0:
                W[:, t] = np.maximum(W[:, t] - grad / HHt[t, t], 0)
        return violation

    Ht = np.ascontiguousarray(H.T)
    first = None
    for _ in range(max_iter):
        violation = update(X, W, Ht) + update(np.ascontiguousarray(X.T), Ht, W)
        first = violation if first is None else first
        if first == 0 or violation / first <= tol:
            break
    return W, Ht.T


def make_dff_full(torch, F, model, layer):
    """pytorch-grad-cam's DeepFeatureFactorization(computation_on_concepts=model.fc) with n_components=5."""
    import numpy as np
    k = 5

    def raw_maps(x, targets, a):
        batch, channels, h, w = a.shape
        v = a.cpu().numpy().transpose((1, 0, 2, 3)).reshape(channels, -1)
        offset = v.min(axis=-1)
        concepts, where = nmf_coordinate_descent(np, v - offset[:, None], k)
        maps = torch.from_numpy(where.reshape(k, batch, h, w).transpose((1, 0, 2, 3)).copy())
        scaled = cam_postprocess(torch, F, maps.reshape(batch * k, h, w), x.shape[-2:]).reshape(batch, k, *x.shape[-2:])
        p = torch.softmax(model.fc(torch.from_numpy(np.float32(concepts + offset[:, None]).T.copy())), 1)
        best = p[:, targets].argmax(0)
        return torch.stack([scaled[b, best[b]] for b in range(batch)])
    return make_forward_cam(torch, F, model, layer, raw_maps, post=False)


def make_forward_cam(torch, F, model, layer, raw_maps, post=True):
    """A CAM without a backward pass: one forward keeping layer4's output a, then
    raw_maps(x, targets, a) -> [B, h, w], all under no_grad, post-processed (or
    already maps at the input's size, without post)."""
    for p in model.parameters():
        p.requires_grad_(False)
    store = {}
    layer.register_forward_hook(lambda m, i, o: store.__setitem__("a", o))

    def run(x):
        with torch.no_grad():
            y = model(x)
            raw = raw_maps(x, y.argmax(1), store["a"])
            return cam_postprocess(torch, F, raw, x.shape[-2:]) if post else raw
    return run


def make_dff(torch, F, model, layer, ref):
    """DFF per image (ref.dff_factorize, the fixtures' definition), concept logits = model.fc(concepts)."""
    def raw_maps(x, targets, a):
        maps = []
        for b in range(x.shape[0]):
            concepts, where = ref.dff_factorize(a[b].double(), **ref.DFF)
            p = torch.softmax(model.fc(concepts.float()), 1)
            maps.append(where[int(p[:, targets[b]].argmax())].float())
        return torch.stack(maps)
    return make_forward_cam(torch, F, model, layer, raw_maps)


def make_input_gradient(torch, model, patch):
    """Guided backprop / TSGB: a modified backward to the input."""
    for p in model.parameters():
        p.requires_grad_(False)
    patch()

    def run(x, reduce):
        xr = x.clone().requires_grad_(True)
        y = model(xr)
        targets = y.argmax(1)
        (g,) = torch.autograd.grad(y.gather(1, targets[:, None]).sum(), xr)
        return reduce(xr.detach(), g)
    return run


def make_scorecam(torch, F, model, layer, channels, chunk=16):
    def raw_maps(x, targets, a):
        k = min(channels, a.shape[1]) if channels else a.shape[1]
        a = a[:, :k]
        up = F.interpolate(a, size=x.shape[-2:], mode="bilinear", align_corners=True)
        mx, mn = up.amax(dim=(2, 3), keepdim=True), up.amin(dim=(2, 3), keepdim=True)
        up = (up - mn) / (mx - mn + 1e-8)
        raws = []
        for b in range(x.shape[0]):
            scores = []
            for i in range(0, k, chunk):
                masked = x[b][None] * up[b, i:i + chunk, None]
                scores.append(model(masked)[:, targets[b]])
            w = torch.softmax(torch.cat(scores), 0)
            raws.append((w[:, None, None] * a[b]).sum(0))
        return torch.stack(raws)
    return make_forward_cam(torch, F, model, layer, raw_maps)


def main():
    ap = argparse.ArgumentParser(description="PyTorch explanation timings for bench/run.sh --explain")
    ap.add_argument("--model", default="resnet50", choices=["resnet18", "resnet50", "convnext_tiny"])
    ap.add_argument("--method", required=True, choices=METHODS)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="0 = os.cpu_count()")
    ap.add_argument("--scorecam-channels", type=int, default=0,
                    help="Score-CAM: mask only the first K channels (0 = all)")
    args = ap.parse_args()
    if args.model == "convnext_tiny" and args.method not in CONVNEXT_METHODS:
        ap.error(f"--model convnext_tiny runs {', '.join(CONVNEXT_METHODS)}")

    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    threads = args.threads or os.cpu_count()
    torch.set_num_threads(threads)
    after_import = torch_forward.rss_mb()
    model = torch_forward.build(args.model)
    # The last 4-D activation before global pooling.
    layer = model.features[-1] if args.model == "convnext_tiny" else model.layer4
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(args.batch, 3, args.size, args.size, generator=gen)

    if args.method == "gradcam-full":
        fn = make_gradcam_full(torch, F, model, layer)
    elif args.method == "shapleycam-full":
        fn = make_shapleycam_full(torch, F, model, layer)
    elif args.method == "dff-full":
        fn = make_dff_full(torch, F, model, layer)
    elif args.method in ("gradcam", "shapleycam"):
        weights = gradcam_weights if args.method == "gradcam" else shapleycam_weights
        fn = make_layer_cam(torch, F, model, layer, lambda y, targets, a: weights(torch, y, targets, a))
    elif args.method == "scorecam":
        fn = make_scorecam(torch, F, model, layer, args.scorecam_channels)
    else:
        sys.path.insert(0, os.path.join(HERE, "..", "tests", "fixtures", "methods"))
        import make_method_fixtures as ref  # the fixtures' GuidedReLU / TSGB rules, DFF's factorisation
    if args.method == "dff":
        fn = make_dff(torch, F, model, layer, ref)
    elif args.method in ("guided-backprop", "tsgb"):
        # The rule overrides must stay in place for the whole run: keep the
        # context manager referenced (a dropped generator-based one would be
        # closed by the garbage collector, silently restoring the stock rules).
        if args.method == "guided-backprop":
            rule = (lambda n, m: (lambda m, x: ref.GuidedReLU.apply(x, 0.0, None))
                    if isinstance(m, nn.ReLU) else None)

            def reduce(xr, g):
                m = g.abs().amax(1)
                return m / (m.amax(dim=(-2, -1), keepdim=True) + 1e-10)
        else:
            rule = ref.tsgb_rule_for(model)

            def reduce(xr, g):
                s = (xr * g).sum(1).clamp(min=0)
                return s / (s.amax(dim=(-2, -1), keepdim=True) + 1e-10)
        overrides = contextlib.ExitStack()

        def patch():
            patched = overrides.enter_context(ref.patched(model, rule))
            assert patched, "no module got the override"
        run = make_input_gradient(torch, model, patch)

        def fn(x):
            return run(x, reduce)

    times = []
    for _ in range(args.warmup):
        out = fn(x)
    for _ in range(args.iterations):
        t0 = time.perf_counter()
        out = fn(x)
        times.append(time.perf_counter() - t0)
    assert out.shape == (args.batch, args.size, args.size) and bool(torch.isfinite(out).all())
    if args.method in ("guided-backprop", "tsgb"):
        assert "forward" in vars(model.fc if args.method == "tsgb" else model.relu), "override lost"
        overrides.close()
    result = {
        "model": args.model, "method": args.method, "batch": args.batch, "size": args.size,
        "threads": threads, "iterations": args.iterations,
        **torch_forward.timing_summary(times, args.batch, after_import),
    }
    if args.method == "scorecam":
        total = model.fc.in_features  # channels of layer4's output
        used = min(args.scorecam_channels, total) if args.scorecam_channels else total
        result.update(channels=used, channels_total=total,
                      # masked forwards dominate and scale with the channel count
                      images_per_second_all_channels=round(args.batch / (sum(times) / len(times)) * used / total, 4))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
