#!/usr/bin/python3
"""PyTorch DDP peer for bench/mpi.sh: the net bench_mpi trains (784-H1-H2-10,
ReLU, softmax cross-entropy, Adam 1e-3) on the same shape of data (6144
random uint8 images scaled to [0, 1), 10 classes), data-parallel over
--procs processes with the gloo backend, one thread each, the global batch
split evenly (DistributedSampler-style: each process takes its share of
every shuffled global batch). One warm-up epoch, then whole epochs for
--seconds; rank 0 prints one JSON line with the global samples/s.

    /usr/bin/python3 bench/torch_ddp.py --hidden 256,128 --batch 512 --procs 2
"""
import argparse
import datetime
import json
import os
import socket
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def worker(rank, args):
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", str(args.port))
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    # A bounded wait: a peer that never comes (or dies) fails the collective
    # after --timeout seconds instead of gloo's default 30 minutes.
    dist.init_process_group("gloo", rank=rank, world_size=args.procs,
                            timeout=datetime.timedelta(seconds=args.timeout))
    g = torch.Generator().manual_seed(1)
    n = 6144
    x = torch.randint(0, 256, (n, 784), generator=g, dtype=torch.uint8).float() / 255.0
    y = torch.randint(0, 10, (n,), generator=g)
    widths = [784] + [int(h) for h in args.hidden.split(",")] + [10]
    layers = []
    for i in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
        if i + 2 < len(widths):
            layers.append(torch.nn.ReLU())
    torch.manual_seed(0)
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Sequential(*layers))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    share = args.batch // args.procs

    def epoch():
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(7))
        for i in range(0, n - args.batch + 1, args.batch):
            idx = perm[i + rank * share:i + (rank + 1) * share]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x[idx]), y[idx]).backward()
            opt.step()
        return (n // args.batch) * args.batch

    epoch()
    done, start = 0, time.perf_counter()
    while True:
        done += epoch()
        go = torch.tensor([1.0 if time.perf_counter() - start < args.seconds else 0.0])
        dist.broadcast(go, 0)  # every process runs the epochs rank 0 decides
        if go.item() == 0.0:
            break
    rate = done / (time.perf_counter() - start)
    if rank == 0:
        print(json.dumps({"procs": args.procs, "samples_per_s": rate,
                          "torch": torch.__version__}), flush=True)
    dist.destroy_process_group()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hidden", default="256,128")
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--port", type=int, default=0,
                    help="the rendezvous port; 0: one the kernel says is free")
    ap.add_argument("--timeout", type=float, default=60.0,
                    help="seconds a collective waits for a peer")
    args = ap.parse_args()
    if args.port == 0:
        # A random port can be taken (another job, or TIME_WAIT): then rank
        # 0's store cannot bind and the other rank waits for it.
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            args.port = s.getsockname()[1]
    mp.spawn(worker, args=(args,), nprocs=args.procs)


if __name__ == "__main__":
    main()
