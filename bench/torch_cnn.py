#!/usr/bin/python3
"""PyTorch peer of bench_cnn (bench/cnn.c): the convolutional net of issue 15
on Fashion-MNIST, written the way users write it:

    Conv2d(1, 32, 3), ReLU, MaxPool2d(2), Conv2d(32, 64, 3), ReLU, MaxPool2d(2),
    Flatten, Linear(1600, 128), ReLU, Dropout(0.3), Linear(128, 10)
    CrossEntropyLoss, Adam(lr=1e-3), inputs standardized by the training
    pixels' mean and deviation (one pair, as transforms.Normalize).

--batch B --seconds S: one JSON line {"train", "infer", "rss_mib"}: training
samples/s on the first 8192 rows (after one warm-up epoch of them, shuffled
each epoch, whole epochs until S seconds), inference samples/s over the
10000 test images at batch 1000 under no_grad/eval, and peak RSS.
--epochs E --seed N [--batch 128]: full training with a cosine schedule
over E epochs, printing the test accuracy after each epoch.
--recipe: instead, the accuracy recipe of README's CNN section (what
`synapse train --layers "conv:32:3:same,bn2d:relu,maxpool:2,conv:64:3:same,
bn2d:relu,maxpool:2,256:linear,bn:relu,dropout:0.4" --label-smoothing 0.1`
trains, tests/test_fashion_cnn_long.c): Conv2d(1, 32, 3, padding=1),
BatchNorm2d, ReLU, MaxPool2d(2), Conv2d(32, 64, 3, padding=1), BatchNorm2d,
ReLU, MaxPool2d(2), Flatten, Linear(3136, 256), BatchNorm1d, ReLU,
Dropout(0.4), Linear(256, 10); CrossEntropyLoss(label_smoothing=0.1), and
the inputs standardized per pixel (mean and population deviation of each
pixel over the training images, 1 where it is constant: `--scale standard`).
--per-pixel: the issue's layers with the recipe's per-pixel standardization
(what `synapse train` does by default) instead of one mean and deviation.

Tuned as far as this machine allows: torch.set_num_threads(--threads, 2 by
default: the machine's cores), flush-denormal on, channels-first tensors
(oneDNN's own choice), and the training tensor preloaded as float32."""
import argparse
import gzip
import json
import math
import resource
import time

import numpy as np
import torch

DATA = "/usr/share/datasets/fashion-mnist"


def load(name, offset):
    with gzip.open(f"{DATA}/{name}", "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def net():
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(1600, 128), torch.nn.ReLU(),
        torch.nn.Dropout(0.3), torch.nn.Linear(128, 10))


def recipe_net():
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.BatchNorm2d(32), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.BatchNorm2d(64), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(3136, 256), torch.nn.BatchNorm1d(256),
        torch.nn.ReLU(), torch.nn.Dropout(0.4), torch.nn.Linear(256, 10))


def epoch(model, opt, loss_fn, x, y, batch):
    model.train()
    perm = torch.randperm(x.shape[0])
    xs, ys = x[perm], y[perm]
    for i in range(0, x.shape[0], batch):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xs[i:i + batch]), ys[i:i + batch])
        loss.backward()
        opt.step()
    return loss.item()


def evaluate(model, x, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, x.shape[0], 1000):
            correct += (model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item()
    return correct / x.shape[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--recipe", action="store_true")
    ap.add_argument("--per-pixel", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    torch.manual_seed(args.seed)
    x = torch.from_numpy(load("train-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28)
                         .astype(np.float32))
    y = torch.from_numpy(load("train-labels-idx1-ubyte.gz", 8).astype(np.int64))
    xt = torch.from_numpy(load("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28)
                          .astype(np.float32))
    yt = torch.from_numpy(load("t10k-labels-idx1-ubyte.gz", 8).astype(np.int64))
    if args.recipe or args.per_pixel:
        mean, sd = x.mean(0, keepdim=True), x.std(0, unbiased=False, keepdim=True)
        sd = torch.where(sd > 0, sd, torch.ones_like(sd))
    else:
        mean, sd = x.mean(), x.std(unbiased=False)
    x, xt = (x - mean) / sd, (xt - mean) / sd
    model = recipe_net() if args.recipe else net()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.1 if args.recipe else 0.0)
    if args.epochs > 0:
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
        t0 = time.time()
        acc = math.nan
        for e in range(args.epochs):
            loss = epoch(model, opt, loss_fn, x, y, args.batch)
            sched.step()
            acc = evaluate(model, xt, yt)
            print(f"PyTorch{' recipe' if args.recipe else ''} seed {args.seed} epoch {e + 1:2d}: last batch loss {loss:.4f}, "
                  f"test accuracy {acc:.4f} ({time.time() - t0:.0f} s)", flush=True)
        print(f"PyTorch{' recipe' if args.recipe else ''} seed {args.seed}: test accuracy {acc:.4f} after {args.epochs} "
              f"epochs, {time.time() - t0:.0f} s", flush=True)
        return
    xs, ys = x[:8192].contiguous(), y[:8192].contiguous()
    epoch(model, opt, loss_fn, xs, ys, args.batch)
    samples, t0 = 0, time.perf_counter()
    while True:
        epoch(model, opt, loss_fn, xs, ys, args.batch)
        samples += xs.shape[0]
        t = time.perf_counter() - t0
        if t >= args.seconds:
            break
    evaluate(model, xt, yt)
    t1 = time.perf_counter()
    evaluate(model, xt, yt)
    infer = xt.shape[0] / (time.perf_counter() - t1)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"train": round(samples / t, 1), "infer": round(infer, 1),
                      "rss_mib": round(rss, 1)}))


if __name__ == "__main__":
    main()
