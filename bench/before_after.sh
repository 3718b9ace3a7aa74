#!/usr/bin/env bash
# bench/before_after.sh [--rounds R] [--seconds S] [REF] - the quiet-machine
# half of issue 12's targets: "no row of bench/run.sh more than 3% slower than
# before this change, and the seed XOR still >= 150x numpy".
#
# Builds bench_train of REF (a commit; default 66bb322, the last tree on
# OpenMP, before the thread pool of src/base/pool.c) in a git worktree under
# ${TMPDIR:-/tmp}, and this tree's in build-bench, then runs bench/run.sh's
# rows (784-256-128-10 at batch 32, 128, 512, 784-1024-1024-10 at 128,
# 784-32-10 at 128; 2 threads; training, and evaluation at batch 1000)
# with the two binaries interleaved R times (this, before, this, before, ...)
# so that the host's slow moments hit both alike, and prints each binary's
# best samples/s per row and the ratio this / before. Then the seed XOR:
# both binaries and numpy (bench/numpy_xor.py), interleaved, fastest of R.
# A ratio below 0.97 is marked "slower". Needs /usr/bin/python3 with numpy
# for the XOR line; nothing else beyond the build.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=5 seconds=2 ref=66bb322
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    *) ref=$1; shift ;;
    esac
done
py=/usr/bin/python3
here=build-bench
before_tree=${TMPDIR:-/tmp}/synapse-before-$ref
if [ ! -d "$before_tree" ]; then
    git worktree add -f "$before_tree" "$ref" >/dev/null
fi
cmake -S "$before_tree" -B "$before_tree/build-bench" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$before_tree/build-bench" -j2 --target bench_train >/dev/null
cmake -S . -B "$here" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$here" -j2 --target bench_train >/dev/null
new=$here/bench_train old=$before_tree/build-bench/bench_train

field() { $py -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
max() { $py -c "import sys; print(max(float(a) for a in sys.argv[1:]))" "$@"; }
min() { $py -c "import sys; print(min(float(a) for a in sys.argv[1:]))" "$@"; }
row() { # name, new best, old best
    $py -c "import sys; n, a, b = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]); \
print(f'{n:<34} {a:>12.0f} {b:>12.0f} {a / b:>7.3f}' + ('  slower' if a / b < 0.97 else ''))" "$@"
}

echo "this tree ($(git rev-parse --short HEAD)) against $ref; best of $rounds interleaved rounds of" \
    "${seconds} s; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %12s %12s %7s\n' "row (2 threads, samples/s)" this before ratio
for cfg in "256,128 32" "256,128 128" "256,128 512" "1024,1024 128" "32 128"; do
    read -r hidden batch <<<"$cfg"
    nt=() ot=() ne=() oe=()
    for _ in $(seq "$rounds"); do
        a=$("$new" --hidden "$hidden" --batch "$batch" --seconds "$seconds" --threads 2)
        b=$("$old" --hidden "$hidden" --batch "$batch" --seconds "$seconds" --threads 2)
        nt+=("$(field "$a" train_samples_per_s)") ot+=("$(field "$b" train_samples_per_s)")
        ne+=("$(field "$a" eval_samples_per_s)") oe+=("$(field "$b" eval_samples_per_s)")
    done
    model="784-${hidden//,/-}-10"
    row "train $model b$batch" "$(max "${nt[@]}")" "$(max "${ot[@]}")"
    if [ "$hidden $batch" = "256,128 128" ]; then
        row "eval $model b1000" "$(max "${ne[@]}")" "$(max "${oe[@]}")"
    fi
done
nx=() ox=() px=()
for _ in $(seq "$rounds"); do
    nx+=("$(field "$("$new" --xor)" seconds)")
    ox+=("$(field "$("$old" --xor)" seconds)")
    px+=("$(field "$($py bench/numpy_xor.py)" seconds)")
done
n=$(min "${nx[@]}") o=$(min "${ox[@]}") p=$(min "${px[@]}")
$py -c "import sys; n, o, p = map(float, sys.argv[1:]); \
print(f'seed XOR 60000 steps: this {n * 1e3:.2f} ms, before {o * 1e3:.2f} ms ({o / n:.2f}x), ' \
      f'numpy {p * 1e3:.0f} ms: this {p / n:.0f}x numpy' + ('' if p / n >= 150 else '  (below 150x)'))" \
    "$n" "$o" "$p"
