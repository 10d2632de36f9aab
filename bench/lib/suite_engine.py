"""engine start: `run --rm IMAGE true`, berth vs ctr vs docker, the three daemons up at once."""
import time

import figures
import util


def run(ctx):
    daemons, errors = ctx.start_daemons(("berth", "containerd", "docker"))
    try:
        runs = {d.name: [] for d in daemons}
        seq = [0]

        def once(d):
            seq[0] += 1
            cid = "e%d" % seq[0]
            start = time.perf_counter()
            for cmd in d.run_rm(cid):
                util.run(cmd, timeout=120)
            return time.perf_counter() - start

        util.log("engine: %d rounds of run --rm true (%s) ..." %
                 (ctx.engine_rounds, ", ".join(runs)))
        for d in daemons:
            once(d)  # warm-up: first use of the image, page cache
        for i in range(ctx.engine_rounds):
            for d in ctx.rotate(daemons, i):
                runs[d.name].append(once(d) * 1000)
            util.reap_adopted()
    finally:
        ctx.stop_daemons(daemons)
    return [figures.figure(
        "engine_start", "engine: run --rm IMAGE true", "ms", runs, "berth", errors=errors,
        target={"kind": "ratio_max", "peer": "containerd", "value": 0.25, "text": "≤ 0.25× ctr"},
        note="berth run --rm / ctr run --rm / docker run --rm --network none, of a one-layer "
             "busybox image; wall time of the CLI")]
