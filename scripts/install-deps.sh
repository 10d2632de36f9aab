#!/usr/bin/env bash
# Installs every Debian package that berth's build, tests and demo need. Idempotent: when all
# are present it only checks, and touches nothing.
set -euo pipefail

packages=(
  # build
  bazel-bootstrap g++ pkg-config clang-format
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev libabsl-dev
  libspdlog-dev libfmt-dev libyaml-cpp-dev libgtest-dev libgmock-dev libcli11-dev
  nlohmann-json3-dev libsqlite3-dev libseccomp-dev libarchive-dev zlib1g-dev libzstd-dev
  libssl-dev libcurl4-openssl-dev
  # tests and the demo
  busybox-static openssl python3 iproute2 util-linux
  # peers for tests and benchmarks
  runc containerd skopeo
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root (or via sudo)" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
