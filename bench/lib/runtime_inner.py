#!/usr/bin/env python3
"""Times `RUNTIME run` (create+start+wait+delete) of /bin/true on one busybox bundle with pid,
mount, uts, ipc and network namespaces: berth-runtime, runc and crun, alternating.

Usage (as root, by suites.runtime, inside `unshare --mount --propagation private`):
    runtime_inner.py TMPDIR BERTH_RUNTIME ROUNDS OUT.json

Mounts the cgroup2 hierarchy at /sys/fs/cgroup (in this private namespace only), so that runc
and crun see a cgroup v2 host and never touch the v1 hierarchies, and a tmpfs for the
runtimes' state (as /run is). A runtime that fails its first run is reported with its error
and left out of the rounds.
"""
import json
import os
import shutil
import subprocess
import sys
import time

tmp, berth_runtime, rounds, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
CGROUP = "berthbench-runtime"

subprocess.run(["mount", "-t", "cgroup2", "cgroup2", "/sys/fs/cgroup"], check=True)
state = os.path.join(tmp, "run")
os.makedirs(state, exist_ok=True)
subprocess.run(["mount", "-t", "tmpfs", "tmpfs", state], check=True)

bundle = os.path.join(tmp, "bundle")
for d in ("bin", "proc", "dev", "sys"):
    os.makedirs(os.path.join(bundle, "rootfs", d), exist_ok=True)
shutil.copy("/bin/busybox", os.path.join(bundle, "rootfs/bin/busybox"))
os.symlink("busybox", os.path.join(bundle, "rootfs/bin/true"))
subprocess.run([berth_runtime, "spec"], cwd=bundle, check=True)
spec_path = os.path.join(bundle, "config.json")
spec = json.load(open(spec_path))
spec["process"]["terminal"] = False
spec["process"]["args"] = ["/bin/true"]
spec["linux"]["namespaces"] = [{"type": t} for t in ("pid", "mount", "uts", "ipc", "network")]
spec["linux"]["cgroupsPath"] = "/%s/c" % CGROUP
json.dump(spec, open(spec_path, "w"))

contenders = {"berth-runtime": berth_runtime}
for name in ("runc", "crun"):
    path = shutil.which(name)
    if path:
        contenders[name] = path

result = {"runs": {}, "errors": {}, "versions": {}}
seq = [0]


def once(name, path):
    seq[0] += 1
    start = time.perf_counter()
    r = subprocess.run([path, "--root", os.path.join(state, name), "run", "--bundle", bundle,
                        "bench-%d" % seq[0]], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip() or "exit %d" % r.returncode)
    return elapsed


for name, path in list(contenders.items()):
    v = subprocess.run([path, "--version"], capture_output=True, text=True)
    result["versions"][name] = (v.stdout or v.stderr).splitlines()[0] if (v.stdout or
                                                                         v.stderr) else ""
    try:
        once(name, path)  # warm-up, and the check that it runs here at all
        result["runs"][name] = []
    except RuntimeError as e:
        result["errors"][name] = str(e)
        del contenders[name]

names = list(contenders)
for i in range(rounds):
    # Rotate the order each round, so that no contender always runs right after another.
    for name in names[i % len(names):] + names[:i % len(names)]:
        result["runs"][name].append(once(name, contenders[name]))

try:
    os.rmdir("/sys/fs/cgroup/%s/c" % CGROUP)
except OSError:
    pass
try:
    os.rmdir("/sys/fs/cgroup/" + CGROUP)
except OSError:
    pass
subprocess.run(["umount", state])
json.dump(result, open(out, "w"))
