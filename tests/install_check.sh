#!/bin/sh
# install_check.sh SOURCE_DIR BUILD_DIR [CC] - installs the built library into a
# scratch prefix, MOVES the installed tree elsewhere (it must be
# relocatable), then builds examples/xor.c against it twice: through
# pkg-config and through CMake's find_package(synapse), with the compiler
# that built the library. Prints
# "N passed, N failed" and exits non-zero on any failure.
set -u
src=$1
build=$2
cc=${3:-cc}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

if cmake --install "$build" --prefix "$work/prefix" >"$work/install.log" 2>&1; then ok
else bad "cmake --install"; cat "$work/install.log" >&2; fi
mv "$work/prefix" "$work/moved"
pc=$(find "$work/moved" -name synapse.pc | head -n 1)
[ -n "$pc" ] && ok || bad "synapse.pc installed"
[ -f "$work/moved/include/synapse.h" ] && ok || bad "synapse.h installed"
ls "$work/moved"/lib*/libsynapse.a >/dev/null 2>&1 && ok || bad "static library installed"
ls "$work/moved"/lib*/libsynapse.so >/dev/null 2>&1 && ok || bad "shared library installed"

if command -v pkg-config >/dev/null 2>&1 && [ -n "$pc" ]; then
    export PKG_CONFIG_PATH=$(dirname "$pc")
    libdir=$(pkg-config --variable=libdir synapse)
    if "$cc" "$src/examples/xor.c" $(pkg-config --cflags --libs synapse) -lm \
          -Wl,-rpath,"$libdir" -o "$work/xor_pc" 2>"$work/pc.log" &&
          "$work/xor_pc" | grep -q '^Error:'; then ok
    else bad "build and run against pkg-config (moved prefix)"; cat "$work/pc.log" >&2; fi
else
    echo "pkg-config not installed: pkg-config check skipped" >&2
fi

# The shared library: its public symbols are exported and it runs.
so=$(ls "$work/moved"/lib*/libsynapse.so 2>/dev/null | head -n 1)
if [ -n "$so" ] && "$cc" "$src/examples/xor.c" -I"$work/moved/include" -L"$(dirname "$so")" \
        -lsynapse -lm -Wl,-rpath,"$(dirname "$so")" -o "$work/xor_so" 2>"$work/so.log" &&
        "$work/xor_so" | grep -q '^Error:'; then ok
else bad "build and run against the shared library"; cat "$work/so.log" >&2; fi

mkdir -p "$work/consumer"
cat >"$work/consumer/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.20)
project(consumer C)
find_package(synapse REQUIRED)
add_executable(xor $src/examples/xor.c)
target_link_libraries(xor PRIVATE synapse::synapse_static)
CMAKE
if cmake -S "$work/consumer" -B "$work/consumer/build" -DCMAKE_PREFIX_PATH="$work/moved" \
        -DCMAKE_C_COMPILER="$cc" \
        >"$work/cm.log" 2>&1 && cmake --build "$work/consumer/build" >>"$work/cm.log" 2>&1 &&
        "$work/consumer/build/xor" | grep -q '^Error:'; then ok
else bad "build and run through find_package(synapse) (moved prefix)"; cat "$work/cm.log" >&2; fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
