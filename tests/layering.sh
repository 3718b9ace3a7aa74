#!/bin/sh
# layering.sh SRC_DIR - holds the layering of src/ (docs/ARCHITECTURE.md):
#   base <- kernels <- layers <- core <- {io, export};  base <- data <- core
#   mpi stands alone (synapse.h, synapse_mpi.h and MPI: the core knows no MPI)
# A file may include its own folder's headers, the public synapse.h, system
# headers, and the headers of the folders its folder stands on. Exits 1
# naming every include that breaks the rule.
set -u
src=${1:-$(dirname "$0")/../src}
allowed() {
    case $1 in
    base) echo "base" ;;
    kernels) echo "base kernels" ;;
    layers) echo "base kernels layers" ;;
    data) echo "base data" ;;
    core) echo "base kernels layers data core" ;;
    io) echo "base kernels layers data core io" ;;
    export) echo "base kernels layers data core io export" ;;
    mpi) echo "mpi" ;;
    *) echo "" ;;
    esac
}
bad=0
n=0
for dir in "$src"/*/; do
    folder=$(basename "$dir")
    ok=$(allowed "$folder")
    if [ -z "$ok" ]; then
        echo "layering: src/$folder/ is not a known folder (add it to tests/layering.sh)"
        bad=1
        continue
    fi
    for f in "$dir"*.[ch]; do
        [ -e "$f" ] || continue
        n=$((n + 1))
        grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | while IFS= read -r line; do
            inc=$(printf '%s\n' "$line" | sed 's/.*"\(.*\)".*/\1/')
            case $inc in
            synapse.h) continue ;;
            */*) target=${inc%%/*} ;;
            *) target=$folder ;;
            esac
            case " $ok " in
            *" $target "*) ;;
            *) echo "layering: src/$folder/$(basename "$f"):${line%%:*} includes \"$inc\"" \
                    "($folder may include only: $ok)" ;;
            esac
        done
    done
done > layering.out 2>&1
cat layering.out
if [ -s layering.out ]; then bad=1; fi
rm -f layering.out
if [ "$bad" -ne 0 ]; then
    echo "0 passed, 1 failed"
    exit 1
fi
echo "layering: $n files follow the rule"
echo "1 passed, 0 failed"
