#!/bin/sh
# setup.sh - installs the external ONNX consumers the tests compare against:
# python3-onnx (onnx.checker), python3-torch (only to regenerate fixtures)
# and onnxruntime-node in tests/onnx/node_modules. Idempotent; CI calls it.
# The tests skip what is missing, so this script is optional for a build.
set -eu
here=$(cd "$(dirname "$0")" && pwd)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "setup.sh: not root, cannot run: $*" >&2; return 1; fi
}

apt_updated=0
apt_install() {
    if [ "$apt_updated" -eq 0 ]; then
        as_root apt-get update -q
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q --no-install-recommends "$@"
}

if ! /usr/bin/python3 -c 'import onnx' 2>/dev/null; then
    apt_install python3-onnx
fi
if ! command -v node >/dev/null 2>&1; then
    apt_install nodejs
fi
if ! command -v npm >/dev/null 2>&1; then
    apt_install npm
fi

cd "$here"
if [ ! -d node_modules/onnxruntime-node ]; then
    # .npmrc next to package.json sets onnxruntime-node-install=skip; the
    # environment variable says it again for npm versions that ignore it.
    npm_config_onnxruntime_node_install=skip npm install --no-audit --no-fund
fi
node -e "require('onnxruntime-node'); console.log('onnxruntime-node ok')"
/usr/bin/python3 -c 'import onnx; print("python3-onnx", onnx.__version__)'
