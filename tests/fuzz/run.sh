#!/usr/bin/env bash
# run.sh SECONDS [TARGET...] - builds the libFuzzer targets with clang in
# build-fuzz (option SYN_FUZZ of tests/fuzz/fuzz.cmake) and runs each target
# (all of tests/fuzz/fuzz_*.c, or the named ones: csv, idx, model, ...) for
# SECONDS on a scratch copy of its committed corpus, which therefore never
# grows. Prints per target the executions, the coverage (libFuzzer's cov:
# and ft:) and whether it found anything; exits 1 if any target crashed,
# leaked, timed out or ran out of memory. Crashing inputs are kept in
# build-fuzz/artifacts/<target>/: each becomes a file in
# tests/fuzz/regressions/<target>/ once the bug is fixed.
# Environment: SYN_FUZZ_BUILD (build directory), SYN_FUZZ_JOBS (build jobs).
set -euo pipefail

if [[ $# -lt 1 || ! $1 =~ ^[0-9]+$ ]]; then
    echo "usage: $0 SECONDS [TARGET...]" >&2
    exit 2
fi
seconds=$1
shift
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${SYN_FUZZ_BUILD:-$root/build-fuzz}
jobs=${SYN_FUZZ_JOBS:-2}

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    for src in "$root"/tests/fuzz/fuzz_*.c; do
        name=$(basename "$src" .c)
        targets+=("${name#fuzz_}")
    done
fi

echo "building the fuzz targets in $build"
mkdir -p "$build"
build_log=$build/build.log
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSYN_FUZZ=ON -DSYN_BUILD_TESTS=OFF -DSYN_BLAS=OFF >"$build_log" 2>&1 ||
    { cat "$build_log"; exit 1; }
cmake --build "$build" --target fuzz -j"$jobs" >>"$build_log" 2>&1 ||
    { tail -50 "$build_log"; exit 1; }

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=0
summary=()
for t in "${targets[@]}"; do
    exe=$build/fuzz/fuzz_$t
    [[ -x $exe ]] || { echo "no fuzz target $t ($exe)" >&2; exit 2; }
    corpus=$scratch/corpus_$t
    mkdir -p "$corpus"
    if [[ -d $root/tests/fuzz/corpus/$t ]]; then
        cp -R "$root/tests/fuzz/corpus/$t/." "$corpus/"
    fi
    artifacts=$build/artifacts/$t
    mkdir -p "$artifacts"
    dict=()
    [[ -f $root/tests/fuzz/$t.dict ]] && dict=(-dict="$root/tests/fuzz/$t.dict")
    log=$build/fuzz_$t.log
    echo "fuzz_$t: ${seconds}s, log in $log"
    set +e
    "$exe" -max_total_time="$seconds" -print_final_stats=1 -timeout=20 -rss_limit_mb=2048 \
        -artifact_prefix="$artifacts/" "${dict[@]}" "$corpus" >"$log" 2>&1
    rc=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1 || true)
    found=$(grep -m1 -E 'ERROR: |SUMMARY: |ALARM: ' "$log" | cut -c1-100 || true)
    if [[ $rc -ne 0 ]]; then
        failed=1
        echo "---- fuzz_$t failed (exit $rc); the end of its log:"
        tail -40 "$log"
        echo "---- inputs kept in $artifacts:"
        ls -l "$artifacts"
        summary+=("$(printf '%-8s %12s execs  %-22s FOUND: %s' "$t" "${execs:-?}" \
            "${cov:-cov: ?}" "${found:-exit $rc}")")
    else
        summary+=("$(printf '%-8s %12s execs  %-22s nothing found' "$t" "${execs:-?}" \
            "${cov:-cov: ?}")")
    fi
done

echo
echo "fuzzing summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
exit $failed
