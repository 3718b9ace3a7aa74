#!/usr/bin/python3
"""PyTorch's side of bench/layers.sh: the Fashion-MNIST MLP recipe that
`synapse train --layers` runs beside it, trained the way users write it, and
its test accuracy. Recipe: inputs standardised per pixel on the training
rows (synapse's --scale standard), 784-512-256-10 with BatchNorm1d, ReLU and
Dropout(P) after each hidden Linear, Adam (lr 1e-3), CrossEntropyLoss,
batch 128, CosineAnnealingLR over the epochs (stepped per epoch, as
synapse's cosine schedule), all 60000 training rows, tested on t10k.

    /usr/bin/python3 bench/fashion_recipe.py --seed 1 --epochs 30 [--dropout 0.2]
        [--hidden 512,256] [--activation relu|gelu] [--label-smoothing 0]

Prints one JSON line: seed, epochs, test accuracy, training samples/s.
"""
import argparse
import gzip
import json
import time

import numpy as np
import torch

DATA = "/usr/share/datasets/fashion-mnist"


def load(name, offset, shape):
    with gzip.open(f"{DATA}/{name}", "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset).reshape(shape)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--hidden", default="512,256")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--activation", default="relu", choices=["relu", "gelu"])
    ap.add_argument("--label-smoothing", type=float, default=0.0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    torch.manual_seed(args.seed)
    x = load("train-images-idx3-ubyte.gz", 16, (-1, 784)).astype(np.float32)
    y = load("train-labels-idx1-ubyte.gz", 8, (-1,)).astype(np.int64)
    tx = load("t10k-images-idx3-ubyte.gz", 16, (-1, 784)).astype(np.float32)
    ty = load("t10k-labels-idx1-ubyte.gz", 8, (-1,)).astype(np.int64)
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0  # constant pixels: synapse's standard scaling keeps them at 0
    x, tx = torch.from_numpy((x - mean) / std), torch.from_numpy((tx - mean) / std)
    y, ty = torch.from_numpy(y), torch.from_numpy(ty)
    widths = [784] + [int(h) for h in args.hidden.split(",")]
    layers = []
    for i in range(len(widths) - 1):
        layers += [torch.nn.Linear(widths[i], widths[i + 1]), torch.nn.BatchNorm1d(widths[i + 1]),
                   torch.nn.GELU() if args.activation == "gelu" else torch.nn.ReLU(),
                   torch.nn.Dropout(args.dropout)]
    model = torch.nn.Sequential(*layers, torch.nn.Linear(widths[-1], 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    n, seen, start = x.shape[0], 0, time.perf_counter()
    for _ in range(args.epochs):
        model.train()
        perm = torch.randperm(n)
        xs, ys = x[perm], y[perm]
        for i in range(0, n, 128):
            if n - i < 2:
                break  # BatchNorm1d refuses a batch of one row
            opt.zero_grad(set_to_none=True)
            loss_fn(model(xs[i:i + 128]), ys[i:i + 128]).backward()
            opt.step()
            seen += min(128, n - i)
        sched.step()
    rate = seen / (time.perf_counter() - start)
    model.eval()
    with torch.no_grad():
        acc = (model(tx).argmax(1) == ty).float().mean().item()
    print(json.dumps({"seed": args.seed, "epochs": args.epochs, "test_accuracy": acc,
                      "train_samples_per_s": rate}))


if __name__ == "__main__":
    main()
