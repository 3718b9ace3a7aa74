#!/usr/bin/python3
"""PyTorch peer for bench/run.sh: trains an MLP on preloaded Fashion-MNIST
tensors (ReLU hidden layers, softmax cross-entropy, Adam 1e-3) and prints
one JSON line: training samples/s, evaluation samples/s (batch 1000) and
peak RSS.

Training runs the way users write it: whole epochs, each over the training
tensor shuffled once (x[perm]) and cut into contiguous batches. The first
epoch is left out (allocator, OpenBLAS start-up, first touch of the
shuffled copies), then epochs run until --seconds have passed (at least
one), and the rate is that of those whole epochs, shuffling included. The
old peer, a 3-second window of batches gathered with x[perm[i:i+b]] right
after a 0.5 s warm-up, read low: docs/PERFORMANCE.md says why.

PyTorch's best configuration on this machine (see issue "Faster than
PyTorch"): torch.set_num_threads(1) with OpenBLAS on 2 threads
(OPENBLAS_NUM_THREADS=2, set by run.sh) and flush-denormal on. --defaults
leaves PyTorch as it starts (its own thread count, no flush-denormal).

    OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/torch_mlp.py --hidden 256,128 --batch 128
"""
import argparse
import gzip
import json
import resource
import time

import numpy as np
import torch

DATA = "/usr/share/datasets/fashion-mnist"


def load_idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hidden", default="256,128")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--eval-batch", type=int, default=1000)
    ap.add_argument("--rows", type=int, default=0,
                    help="train on the first ROWS rows only (0: all 60000); bench/busy.sh "
                         "uses 8192, bench_train's slice, so loaded runs end in time")
    ap.add_argument("--bn-dropout", type=float, default=-1.0,
                    help="each hidden layer Linear, BatchNorm1d, ReLU, Dropout(P) "
                         "(bench_train --bn-dropout P builds the same)")
    ap.add_argument("--defaults", action="store_true",
                    help="PyTorch's own thread count and float modes")
    args = ap.parse_args()
    if not args.defaults:
        torch.set_num_threads(args.threads)
        torch.set_flush_denormal(True)
    torch.manual_seed(0)

    x = torch.from_numpy(load_idx(f"{DATA}/train-images-idx3-ubyte.gz", 16)
                         .reshape(-1, 784).astype(np.float32) / 255.0)
    y = torch.from_numpy(load_idx(f"{DATA}/train-labels-idx1-ubyte.gz", 8).astype(np.int64))
    if args.rows > 0:
        x, y = x[:args.rows], y[:args.rows]
    widths = [784] + [int(h) for h in args.hidden.split(",") if h] + [10]
    layers = []
    for i in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
        if i + 2 < len(widths):
            if args.bn_dropout >= 0:
                layers.append(torch.nn.BatchNorm1d(widths[i + 1]))
            layers.append(torch.nn.ReLU())
            if args.bn_dropout >= 0:
                layers.append(torch.nn.Dropout(args.bn_dropout))
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = x.shape[0]

    def epoch():
        perm = torch.randperm(n)
        xs, ys = x[perm], y[perm]
        for i in range(0, n, args.batch):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xs[i:i + args.batch]), ys[i:i + args.batch])
            loss.backward()
            opt.step()

    epoch()  # the first epoch, left out
    epochs, start = 0, time.perf_counter()
    while epochs == 0 or time.perf_counter() - start < args.seconds:
        epoch()
        epochs += 1
    train_rate = epochs * n / (time.perf_counter() - start)
    model.eval()
    with torch.no_grad():
        start, done = time.perf_counter(), 0
        while time.perf_counter() - start < args.seconds / 2:
            for s in range(0, n, args.eval_batch):
                model(x[s:s + args.eval_batch])
                done += min(args.eval_batch, n - s)
        eval_rate = done / (time.perf_counter() - start)
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"train_samples_per_s": train_rate, "eval_samples_per_s": eval_rate,
                      "peak_rss_mib": rss_mib, "epochs_timed": epochs,
                      "threads": torch.get_num_threads(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
