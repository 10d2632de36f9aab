#!/usr/bin/env bash
# Installs every Debian package that berth's build, tests and demo need. Idempotent: when all
# are present it only checks, and touches nothing.
set -euo pipefail

packages=(
  # build (clang and libclang-rt-dev: the libFuzzer targets of fuzz/run.sh)
  bazel-bootstrap g++ pkg-config clang-format clang libclang-rt-dev
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev libabsl-dev
  libspdlog-dev libfmt-dev libyaml-cpp-dev libgtest-dev libgmock-dev libcli11-dev
  nlohmann-json3-dev libsqlite3-dev libseccomp-dev libarchive-dev zlib1g-dev libzstd-dev
  libssl-dev libcurl4-openssl-dev
  # tests and the demo
  busybox-static openssl python3 iproute2 util-linux
  # peers for tests and benchmarks
  runc containerd
  # the registry tests (e2e/registry_test): a registry on loopback, htpasswd for its auth
  docker-registry apache2-utils
  # the pure cgroup v2 VM (e2e/vm)
  qemu-system-x86 cpio skopeo
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# The VM's kernel: Debian's linux-image-amd64, unpacked once into a cache (never installed).
vm_kernel() {
  local dir=/var/cache/berth/vm
  [[ -f $dir/vmlinuz ]] && return 0
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: $dir/vmlinuz is missing; run as root to fetch it" >&2
    return 0
  fi
  local pkg tmp
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}')
  [[ -n $pkg ]] || { apt-get update -qq && pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/{print $2; exit}'); }
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq "$pkg" 2>/dev/null && dpkg -x ./*.deb x)
  mkdir -p "$dir"
  cp "$tmp"/x/boot/vmlinuz-* "$dir/vmlinuz"
  rm -rf "$tmp"
  echo "install-deps: cached the VM kernel from $pkg"
}

if ((${#missing[@]} == 0)); then
  vm_kernel
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
vm_kernel
