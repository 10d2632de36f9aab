"""runtime start: create+start+wait+delete of /bin/true, berth-runtime vs runc (and crun)."""
import json
import os
import sys

import figures
import util

HERE = os.path.dirname(os.path.abspath(__file__))


def run(ctx):
    tmp = os.path.join(ctx.tmp, "runtime")
    os.makedirs(tmp)
    out = os.path.join(tmp, "result.json")
    util.log("runtime: %d rounds of create+start+wait+delete /bin/true ..." % ctx.runtime_rounds)
    # A private mount namespace: runtime_inner.py mounts cgroup2 at /sys/fs/cgroup there.
    util.run(["unshare", "--mount", "--propagation", "private", sys.executable,
              os.path.join(HERE, "runtime_inner.py"), tmp,
              os.path.join(ctx.bin, "berth-runtime"), str(ctx.runtime_rounds), out],
             timeout=1800)
    res = json.load(open(out))
    ctx.versions.update({k: v for k, v in res["versions"].items() if k != "berth-runtime"})
    runs = {k: [v * 1000 for v in vals] for k, vals in res["runs"].items()}
    return [figures.figure(
        "runtime_start", "runtime: create+start+wait+delete /bin/true", "ms", runs,
        "berth-runtime", errors=res["errors"],
        target={"kind": "ratio_max", "peer": "runc", "value": 0.4, "text": "≤ 0.4× runc"},
        note="pid, mount, uts, ipc and network namespaces; `RUNTIME run` on one busybox "
             "bundle, state on tmpfs")]
