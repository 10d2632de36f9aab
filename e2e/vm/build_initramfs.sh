#!/usr/bin/env bash
# Packs the guest for the cgroup v2 VM: busybox, berth-runtime with the shared libraries it
# needs, a busybox bundle with a config template, and the two guest scripts; with the engine's
# binaries and a busybox image also given, berthd, berth and berth-shim (and their libraries)
# and the image archive, for the guest's engine checks.
#
#   build_initramfs.sh OUTPUT.cpio.gz BERTH_RUNTIME [BERTHD BERTH BERTH_SHIM IMAGE.tar]
set -euo pipefail
out=$1
runtime=$2
engine=("${@:3}")
here=$(cd "$(dirname "$0")" && pwd)
stage=$(mktemp -d /tmp/berth-vm-stage.XXXXXX)
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage/bin" "$stage/berth/bundle/rootfs/bin" "$stage/etc"
cp /bin/busybox "$stage/bin/busybox"
cp /bin/busybox "$stage/berth/bundle/rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
  [[ $applet == busybox ]] && continue
  ln -s busybox "$stage/bin/$applet"
  ln -s busybox "$stage/berth/bundle/rootfs/bin/$applet"
done
mkdir -p "$stage/berth/bundle/rootfs/"{proc,sys,dev,tmp}

# A binary and its shared libraries, at the paths the dynamic loader will look for them.
install_binary() {  # source name
  cp -L "$1" "$stage/berth/$2"
  ldd "$1" | awk '$3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | while read -r lib; do
    [[ -e "$stage$lib" ]] && continue
    mkdir -p "$stage$(dirname "$lib")"
    cp -L "$lib" "$stage$lib"
  done
}
install_binary "$runtime" berth-runtime
if ((${#engine[@]} == 4)); then
  install_binary "${engine[0]}" berthd
  install_binary "${engine[1]}" berth
  cp -L "${engine[2]}" "$stage/berth/berth-shim"  # static
  cp "${engine[3]}" "$stage/berth/busybox.tar"
fi

"$stage/berth/berth-runtime" spec --bundle "$stage/berth/bundle" 2>/dev/null ||
  (cd "$stage/berth/bundle" && "$runtime" spec)
python3 - "$stage/berth/bundle/config.json" "$stage/berth/bundle/config.template" <<'PY'
import json, sys
spec = json.load(open(sys.argv[1]))
spec["process"]["terminal"] = False
spec["process"]["args"] = ["@ARGS@"]
spec["root"]["readonly"] = False
spec["linux"]["resources"] = "@RESOURCES@"
text = json.dumps(spec)
text = text.replace('["@ARGS@"]', "[@ARGS@]").replace('"@RESOURCES@"', "@RESOURCES@")
open(sys.argv[2], "w").write(text)
PY
rm "$stage/berth/bundle/config.json"

cp "$here/guest_init.sh" "$stage/init"
cp "$here/guest_tests.sh" "$stage/berth/guest_tests.sh"
chmod +x "$stage/init" "$stage/berth/guest_tests.sh"
(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) > "$out"
