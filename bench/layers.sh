#!/usr/bin/env bash
# bench/layers.sh - the layer kinds against PyTorch (issue 14's targets):
#  1. training throughput of 784-512(BN, dropout 0.2)-256(BN, dropout 0.2)-10
#     at batch 128: bench_train --bn-dropout against torch_mlp.py
#     --bn-dropout, three interleaved runs each, best kept (as bench/run.sh);
#  2. with --accuracy, the Fashion-MNIST recipe (784-1024-512-10, each hidden
#     layer Linear, BatchNorm, ReLU, Dropout 0.4; Adam 1e-3, batch 128, a
#     30-epoch cosine schedule) for seeds 1-3: `synapse train
#     --layers` and bench/fashion_recipe.py (PyTorch) side by side, the test
#     accuracy of each and their training rates.
#
#   bench/layers.sh [--seconds S] [--accuracy [--epochs E]]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=3 accuracy=0 epochs=30
while [ $# -gt 0 ]; do
    case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --accuracy) accuracy=1; shift ;;
    --epochs) epochs=$2; shift 2 ;;
    *) echo "usage: bench/layers.sh [--seconds S] [--accuracy [--epochs E]]" >&2; exit 2 ;;
    esac
done
py=/usr/bin/python3
build=build-bench
data=/usr/share/datasets/fashion-mnist
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target bench_train synapse_cli >/dev/null
peer() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=2 $py "$@"; }
best() { $py -c "import json,sys; r=[json.loads(a) for a in sys.argv[1:]]; \
print(max(x['train_samples_per_s'] for x in r))" "$@"; }

ss=() ts=()
for _ in 1 2 3; do
    ss+=("$("$build/bench_train" --hidden 512,256 --bn-dropout 0.2 --batch 128 \
        --seconds "$seconds" --threads 2)")
    ts+=("$(peer bench/torch_mlp.py --hidden 512,256 --bn-dropout 0.2 --batch 128 \
        --seconds "$seconds")")
done
s=$(best "${ss[@]}") t=$(best "${ts[@]}")
$py -c "import sys; s, t = map(float, sys.argv[1:]); \
print(f'784-512(BN,dropout)-256(BN,dropout)-10, batch 128: synapse {s:.0f}/s, torch {t:.0f}/s,' \
      f' ratio {s / t:.2f} (target >= 2)')" "$s" "$t"
[ "$accuracy" = 1 ] || exit 0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%-5s %14s %12s %12s %10s\n' seed "synapse acc" "torch acc" synapse/s torch/s
for seed in 1 2 3; do
    start=$(date +%s.%N)
    "$build/synapse" train --data $data/train-images-idx3-ubyte.gz \
        --labels $data/train-labels-idx1-ubyte.gz --test-data $data/t10k-images-idx3-ubyte.gz \
        --test-labels $data/t10k-labels-idx1-ubyte.gz \
        --layers "1024:linear,bn:relu,dropout:0.4,512:linear,bn:relu,dropout:0.4" \
        --optimizer adam --lr 0.001 --batch 128 --epochs "$epochs" --schedule cosine \
        --val-split 0 --seed "$seed" --out "$tmp/m.syn" --quiet > "$tmp/syn.txt" 2>&1
    end=$(date +%s.%N)
    acc=$(sed -n 's/^test: .*accuracy \([0-9.]*\).*/\1/p' "$tmp/syn.txt" | tail -1)
    t=$(peer bench/fashion_recipe.py --seed "$seed" --epochs "$epochs" --hidden 1024,512 \
        --dropout 0.4)
    $py -c "import json, sys; t = json.loads(sys.argv[3]); \
rate = 60000 * int(sys.argv[5]) / (float(sys.argv[4]) - float(sys.argv[6])); \
print(f\"{sys.argv[1]:<5} {float(sys.argv[2] or 'nan'):14.4f} {t['test_accuracy']:12.4f}\" \
      f\" {rate:12.0f} {t['train_samples_per_s']:10.0f}\")" \
        "$seed" "$acc" "$t" "$end" "$epochs" "$start"
done
