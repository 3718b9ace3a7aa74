#!/usr/bin/env bash
# bench/run.sh - the one benchmark command: builds synapse in Release mode,
# then runs synapse, PyTorch (tuned: 1 intra-op thread, OpenBLAS on 2
# threads, flush-denormal) and the seed's numpy loop side by side, and prints
# one table of ratios. Needs python3-torch, python3-numpy and
# dataset-fashion-mnist (Debian packages).
#
#   bench/run.sh [--seconds S]
#   bench/run.sh --busy [--seconds S] [--rounds R]   under competing load: bench/busy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--busy" ]; then
    shift
    exec bash bench/busy.sh "$@"
fi
seconds=3
[ "${1:-}" = "--seconds" ] && seconds=$2
py=/usr/bin/python3
build=build-bench

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target bench_train bench_peak >/dev/null

json() { $py -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

peak=$("$build/bench_peak")
peak_all=$(json "$peak" gflops_all)
echo "machine fp32 FMA peak: $(json "$peak" gflops_1_thread) GFLOP/s on 1 thread," \
     "$peak_all on $(json "$peak" threads) threads"
echo

# PyTorch in its best configuration. OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE,
# set on some machines for old OpenBLAS builds, slow it down: unset them for
# the peer alone.
torch_run() {
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=2 \
        $py bench/torch_mlp.py "$@" --seconds "$seconds"
}

printf '%-18s %6s %12s %12s %7s %8s %9s %9s\n' model batch synapse/s torch/s ratio \
    "%peak" "RSS syn" "RSS torch"
configs=("256,128 32" "256,128 128" "256,128 512" "1024,1024 128" "32 128")
eval_line=""
# Each side runs three times, interleaved (synapse, torch, synapse, torch,
# ...), and keeps its best run: a shared machine's slow moments, which come
# and go within a minute here, then hit neither side more than the other.
best() { $py -c "import json,sys; r=[json.loads(a) for a in sys.argv[1:]]; \
print(json.dumps(max(r, key=lambda x: x['train_samples_per_s'])))" "$@"; }
for cfg in "${configs[@]}"; do
    read -r hidden batch <<<"$cfg"
    ss=() ts=()
    for _ in 1 2 3; do
        ss+=("$("$build/bench_train" --hidden "$hidden" --batch "$batch" \
            --seconds "$seconds" --threads 2)")
        ts+=("$(torch_run --hidden "$hidden" --batch "$batch")")
    done
    s=$(best "${ss[@]}")
    t=$(best "${ts[@]}")
    $py - "$hidden" "$batch" "$s" "$t" "$peak_all" <<'PY'
import json, sys
hidden, batch, s, t, peak = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4]), float(sys.argv[5])
model = "784-" + hidden.replace(",", "-") + "-10"
print(f"{model:<18} {batch:>6} {s['train_samples_per_s']:>12.0f} {t['train_samples_per_s']:>12.0f} "
      f"{s['train_samples_per_s'] / t['train_samples_per_s']:>6.2f}x "
      f"{100 * s['train_gflops'] / peak:>7.1f}% {s['peak_rss_mib']:>7.0f}MB {t['peak_rss_mib']:>7.0f}MB")
PY
    if [ "$hidden $batch" = "256,128 128" ]; then eval_line="$s|$t"; fi
done
echo
$py - "${eval_line%%|*}" "${eval_line##*|}" <<'PY'
import json, sys
s, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"evaluation 784-256-128-10, batch 1000: synapse {s['eval_samples_per_s']:.0f}/s, "
      f"torch {t['eval_samples_per_s']:.0f}/s, ratio {s['eval_samples_per_s'] / t['eval_samples_per_s']:.2f}x")
print(f"peak RSS of a Fashion-MNIST training run (784-256-128-10, batch 128): synapse "
      f"{s['peak_rss_mib']:.0f} MiB, torch {t['peak_rss_mib']:.0f} MiB, "
      f"ratio {s['peak_rss_mib'] / t['peak_rss_mib']:.3f}")
PY
# The XOR loops: three runs of each side, interleaved, the fastest kept.
xs=() ns=()
for _ in 1 2 3; do
    xs+=("$("$build/bench_train" --xor)")
    ns+=("$($py bench/numpy_xor.py)")
done
$py - "${xs[@]}" "${ns[@]}" <<'PY'
import json, sys
runs = [json.loads(a) for a in sys.argv[1:]]
s = min(r["seconds"] for r in runs[:3])
n = min(r["seconds"] for r in runs[3:])
print(f"seed XOR, 60000 full-batch steps: synapse {s * 1e3:.2f} ms, "
      f"numpy {n * 1e3:.0f} ms, ratio {n / s:.0f}x (fastest of 3 runs each)")
PY
