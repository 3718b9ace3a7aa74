#!/usr/bin/env bash
# bench/mpi.sh [BUILD_DIR] [ROUNDS] [SECONDS] - data-parallel training on this
# machine (issue 16, docs/PERFORMANCE.md "Several processes"): for
# 784-256-128-10 at global batch 512 and 784-1024-1024-10 at 256, in
# interleaved rounds (so machine load hits every contender alike), the
# medians of
#   A  mpirun -np 2 bench_mpi --threads 1     2 ranks x 1 thread (sharded)
#   B  bench_mpi --threads 2                   1 rank x 2 threads, plain path
#   C  bench_mpi --threads 2 --shards          1 rank x 2 threads, sharded
#   D  bench/torch_ddp.py --procs 2            PyTorch DDP, gloo, 2 x 1 thread
# and the ratios A/B, A/C, A/D; then the scaling model from A's measured
# all-reduce and compute seconds per step. Prints the load average too.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
rounds=${2:-3}
secs=${3:-4}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
for cfg in "256,128 512" "1024,1024 256"; do
    set -- $cfg
    hidden=$1 batch=$2
    for r in $(seq "$rounds"); do
        timeout 600 mpirun --oversubscribe -np 2 "$build/bench_mpi" --hidden "$hidden" --batch "$batch" \
            --threads 1 --seconds "$secs" >> "$tmp/A"
        timeout 600 "$build/bench_mpi" --hidden "$hidden" --batch "$batch" --threads 2 \
            --seconds "$secs" >> "$tmp/B"
        timeout 600 "$build/bench_mpi" --hidden "$hidden" --batch "$batch" --threads 2 --shards \
            --seconds "$secs" >> "$tmp/C"
        # The PyTorch peer, bounded (gloo waits 60 s for a lost peer, the
        # whole run 180 s) and tried twice; a peer that fails twice leaves
        # its row out ("peer failed") instead of ending the benchmark.
        for try in 1 2; do
            rc=0
            timeout -k 10 180 "$py" bench/torch_ddp.py --hidden "$hidden" --batch "$batch" \
                --procs 2 --seconds "$secs" --timeout 60 > "$tmp/D1" 2> "$tmp/D1.err" || rc=$?
            if [ "$rc" = 0 ] && grep -q samples_per_s "$tmp/D1"; then
                cat "$tmp/D1" >> "$tmp/D"
                break
            fi
            echo "PyTorch DDP peer failed (try $try, status $rc): $(tail -n 3 "$tmp/D1.err")" >&2
        done
    done
    "$py" - "$tmp" "$hidden" "$batch" <<'PY'
import json, statistics, sys
tmp, hidden, batch = sys.argv[1:]
def runs(k):
    try:
        return [json.loads(l) for l in open(f"{tmp}/{k}")]
    except FileNotFoundError:
        return []
med = {k: statistics.median(r["samples_per_s"] for r in runs(k)) if runs(k) else None
       for k in "ABCD"}
a = runs("A")
comm = statistics.median(r["comm_s_per_step"] for r in a)
comp = statistics.median(r["compute_s_per_step"] for r in a)
pure = statistics.median(r["allreduce_s"] for r in a)
pure_min = min(r["allreduce_min_s"] for r in a)
nbytes = a[0]["bytes_per_step"]
print(f"784-{hidden.replace(',', '-')}-10, global batch {batch}, {a[0]['params']} parameters:")
for k, name in zip("ABCD", ["2 ranks x 1 thread", "1 rank x 2 threads (plain)",
                            "1 rank x 2 threads (--shards)", "PyTorch DDP gloo 2 x 1"]):
    if med[k] is None:
        print(f"  {k} {name:32s}  peer failed (see above)")
    else:
        print(f"  {k} {name:32s} {med[k]:10.0f} samples/s ({len(runs(k))} runs)")
print(f"  A/B {med['A'] / med['B']:.2f}  A/C {med['A'] / med['C']:.2f}  " +
      (f"A/D {med['A'] / med['D']:.2f}" if med["D"] else "A/D -"))
print(f"  per step at 2 ranks: compute {comp * 1e3:.2f} ms, collectives {comm * 1e3:.2f} ms "
      f"(waiting included), {nbytes / 1e6:.2f} MB all-reduced; the gradient all-reduce "
      f"alone {pure * 1e3:.2f} ms median, {pure_min * 1e3:.2f} ms best (shared memory)")
# Scaling model: every rank keeps its share (global batch grows with N);
# ring all-reduce of M bytes over N ranks, bandwidth W, latency alpha per
# message: t = 2 (N-1)/N * M / W + 2 (N-1) alpha; no overlap with compute.
alpha = 50e-6
print("  projected efficiency t_compute / (t_compute + t_allreduce), alpha 50 us:")
print("    ranks   1 Gbit/s  10 Gbit/s  100 Gbit/s")
for n in (8, 32, 128):
    effs = []
    for gbit in (1, 10, 100):
        w = gbit * 1e9 / 8
        t = 2 * (n - 1) / n * nbytes / w + 2 * (n - 1) * alpha
        effs.append(comp / (comp + t))
    print(f"    {n:5d}   " + "  ".join(f"{e:9.2f}" for e in effs))
PY
    rm -f "$tmp"/[ABCD] "$tmp"/D1*
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
