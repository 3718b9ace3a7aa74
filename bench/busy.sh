#!/usr/bin/env bash
# bench/busy.sh - synapse (and PyTorch) on a machine that is not quiet. Also
# `bench/run.sh --busy`. Two parts, each starting and stopping its own load:
#
#  1. bench_busy: synapse at its default thread count, --threads 1 and
#     --threads 2, interleaved, under 0, 1 and 2 busy processes it forks;
#     the ratios of issue 12 (default / best of 1 and 2; default / 1).
#  2. Side by side under 0, 1 and 2 busy processes (bash loops that spin
#     and end themselves after 20 minutes, killed on exit): synapse at its
#     default (bench_train --threads 0), PyTorch tuned (1 intra-op thread,
#     OpenBLAS on 2, flush-denormal) and PyTorch at its defaults, both on
#     epochs of 8192 rows (a loaded PyTorch can run at ~600 samples/s, so a
#     60000-row epoch would take minutes); the median of R interleaved
#     rounds, samples/s.
#
#   bench/busy.sh [--seconds S] [--rounds R]     (defaults 1 and 3)
#
# Needs python3-torch and dataset-fashion-mnist. ~15 minutes at the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=1
rounds=3
while [ $# -gt 0 ]; do
    case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --busy) shift ;;
    *) echo "usage: bench/busy.sh [--seconds S] [--rounds R]" >&2; exit 2 ;;
    esac
done
py=/usr/bin/python3
build=build-bench

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target bench_busy bench_train >/dev/null

echo "load before the run: $(uptime)"
echo
echo "== synapse: default threads against fixed counts (bench_busy) =="
"$build/bench_busy" --seconds "$seconds" --rounds "$rounds"

# ---------------------------------------------------------------- part 2
pids=()
stop_load() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    pids=()
}
trap stop_load EXIT
trap 'stop_load; exit 130' INT TERM
# The spinning process itself is the one started and killed (a wrapper such
# as timeout(1), killed with -9, would leave its child spinning).
start_load() {
    for _ in $(seq 1 "$1"); do
        bash -c 'while ((SECONDS < 1200)); do :; done' &
        pids+=($!)
    done
}

torch_tuned() {
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=2 \
        $py bench/torch_mlp.py "$@" --seconds "$seconds" --rows 8192
}
torch_defaults() {
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE -u OPENBLAS_NUM_THREADS \
        $py bench/torch_mlp.py "$@" --seconds "$seconds" --defaults --rows 8192
}

echo
echo "== side by side: samples/s, median of $rounds interleaved rounds =="
printf '%-4s %-24s %12s %12s %12s %9s\n' busy row synapse torch-tuned torch-default \
    "syn/best"
configs=("256,128 32" "256,128 128" "256,128 512" "32 128")
for load in 0 1 2; do
    start_load "$load"
    for cfg in "${configs[@]}"; do
        read -r hidden batch <<<"$cfg"
        runs=()
        for _ in $(seq 1 "$rounds"); do
            runs+=("$("$build/bench_train" --hidden "$hidden" --batch "$batch" \
                --seconds "$seconds" --threads 0)")
            runs+=("$(torch_tuned --hidden "$hidden" --batch "$batch")")
            runs+=("$(torch_defaults --hidden "$hidden" --batch "$batch")")
        done
        $py - "$load" "$hidden" "$batch" "${runs[@]}" <<'PY'
import json, statistics, sys
load, hidden, batch = sys.argv[1:4]
runs = [json.loads(a) for a in sys.argv[4:]]
def med(key, k):
    return statistics.median(r[key] for r in runs[k::3])
model = "784-" + hidden.replace(",", "-") + "-10"
rows = [("train " + model + " b" + batch, "train_samples_per_s")]
if hidden == "256,128" and batch == "128":
    rows.append(("eval " + model + " b1000", "eval_samples_per_s"))
for name, key in rows:
    s, t, d = med(key, 0), med(key, 1), med(key, 2)
    print(f"{load:<4} {name:<24} {s:>12.0f} {t:>12.0f} {d:>12.0f} {s / max(t, d):>8.2f}x")
PY
    done
    stop_load
done
echo
echo "load after the run: $(uptime)"
