"""Throughput and memory, from one batch of detached containers per daemon per round.

Each round, for each daemon in turn (order rotated by round): start the daemon afresh (its
root, with the busybox image, is kept), measure its idle RSS, start containers one after
another with `run -d … sleep`, and when `mem_containers` are running pause the clock, let
them settle and measure the daemon's RSS and every shim's RSS/PSS; go on to
`throughput_containers` (berth and ctr; docker stops at the memory point), then remove them all
one by one, stop the daemon and kill whatever it left (by pid).

containers/second = N / (time to start N + time to remove N), the pause excluded.
"""
import time

import figures
import util

SETTLE_S = 2.0


def _memory(pids):
    return {name: util.memory_kb(pid) for name, pid in pids.items()}


def _one(ctx, d, rnd, n, m):
    d.start()
    time.sleep(SETTLE_S)
    idle = _memory(d.memory_pids())
    ids, started, removed = [], 0.0, 0.0
    loaded = shims = None
    for i in range(n):
        cid = "t%d-%d" % (rnd, i)
        t0 = time.perf_counter()
        for cmd in d.run_detached(cid):
            util.run(cmd, timeout=120)
        started += time.perf_counter() - t0
        ids.append(cid)
        if i + 1 == m:
            time.sleep(SETTLE_S)
            loaded = _memory(d.memory_pids())
            shim_pids = util.descendants(d.proc.pid, d.shim_comm) or \
                util.adopted(d.shim_comm)
            # Per shim, only what the figures use: the JSON holds every round.
            shims = [{k: m[k] for k in ("Rss", "Pss", "Anonymous")}
                     for m in map(util.memory_kb, shim_pids)]
            if len(shims) != m:
                raise RuntimeError("%s: %d shims found for %d running containers" %
                                   (d.name, len(shims), m))
    failures = []
    for cid in ids:
        t0 = time.perf_counter()
        for attempt in range(3):
            # A failed removal is retried (its time counts) and reported, not hidden.
            try:
                for cmd in d.remove(cid):
                    util.run(cmd, timeout=120)
                break
            except RuntimeError as e:
                failures.append(str(e)[-400:] + " [" + d.diagnose(cid)[-600:] + "]")
                util.log("  %s: removing %s failed (%s); retrying" % (d.name, cid, e))
                if attempt == 2:
                    raise
        removed += time.perf_counter() - t0
    d.stop()
    util.reap_adopted()
    return {"idle": idle, "loaded": loaded, "shims": shims, "start_s": started,
            "remove_s": removed, "n": n, "failures": failures}


def run(ctx):
    n, m = ctx.throughput_containers, ctx.mem_containers
    daemons, errors = ctx.start_daemons(("berth", "containerd", "docker"))
    ctx.stop_daemons(daemons)  # they were started to load the image; each round restarts them
    rounds = {d.name: [] for d in daemons}
    util.log("containers: %d rounds; %d detached containers (docker: %d), memory at %d ..." %
             (ctx.container_rounds, n, m, m))
    for r in range(ctx.container_rounds):
        for d in ctx.rotate(daemons, r):
            count = m if d.name == "docker" else n
            t0 = time.time()
            rounds[d.name].append(_one(ctx, d, r, count, m))
            util.log("  round %d %s: %d containers in %.1f s" % (r, d.name, count,
                                                                time.time() - t0))
    ctx.raw["containers"] = rounds
    return _figures(rounds, n, m, errors)


def _figures(rounds, n, m, errors):
    mb = 1024.0
    tp, start_rate, remove_rate = {}, {}, {}
    idle, loaded, shim_rss, shim_pss, per_container = {}, {}, {}, {}, {}
    for name, rs in rounds.items():
        if name != "docker":
            tp[name] = [r["n"] / (r["start_s"] + r["remove_s"]) for r in rs]
            start_rate[name] = [r["n"] / r["start_s"] for r in rs]
            remove_rate[name] = [r["n"] / r["remove_s"] for r in rs]
        daemon = {"berth": "berthd", "containerd": "containerd", "docker": "dockerd"}[name]
        for r in rs:
            for proc in r["idle"]:
                label = daemon if proc in ("berth", "containerd", "dockerd") else proc
                idle.setdefault(label, []).append(r["idle"][proc]["Rss"] / mb)
                loaded.setdefault(label, []).append(r["loaded"][proc]["Rss"] / mb)
            shim = {"berth": "berth-shim", "containerd": "containerd-shim-runc-v2",
                    "docker": "containerd-shim-runc-v2 (docker)"}[name]
            rss = sorted(s["Rss"] for s in r["shims"])
            shim_rss.setdefault(shim, []).append(rss[len(rss) // 2] / mb)
            shim_pss.setdefault(shim, []).append(sum(s["Pss"] for s in r["shims"]) /
                                                 len(r["shims"]) / mb)
            grow = sum(r["loaded"][p]["Rss"] - r["idle"][p]["Rss"] for p in r["idle"])
            per_container.setdefault(name, []).append(
                (grow + sum(s["Pss"] for s in r["shims"])) / len(r["shims"]) / mb)
    err = dict(errors)
    failed = {name: [f for r in rs for f in r.get("failures", [])] for name, rs in rounds.items()}
    tp_note = ("one CLI call per container to start it, and one to remove it "
               "(ctr: `tasks delete -f` and `containers delete`)")
    for name, fs in failed.items():
        if fs:
            tp_note += ("; %s: %d removals failed and were retried (their time counts), e.g. "
                        "`%s`" % (name, len(fs), fs[0].split(": exit 1: ")[-1][:300]))
    figs = [
        figures.figure("throughput", "throughput: %d containers run -d, then rm -f" % n,
                       "containers/s", tp, "berth", better="higher", errors=err, note=tp_note),
        figures.figure("start_rate", "throughput: starts only (run -d sleep)", "containers/s",
                       start_rate, "berth", better="higher", errors=err),
        figures.figure("remove_rate", "throughput: removals only (rm -f)", "containers/s",
                       remove_rate, "berth", better="higher", errors=err),
        figures.figure("daemon_idle", "daemon RSS, idle (image loaded, no container)", "MB",
                       idle, "berthd", errors=err,
                       target={"kind": "abs_max", "value": 20, "text": "≤ 20 MB RSS"},
                       note="docker's figure is dockerd alone; its containerd is listed apart"),
        figures.figure("daemon_loaded", "daemon RSS with %d sleeping containers" % m, "MB",
                       loaded, "berthd", errors=err),
        figures.figure("shim_rss", "shim RSS per container (median over %d shims)" % m, "MB",
                       shim_rss, "berth-shim", errors=err,
                       target={"kind": "abs_max", "value": 2, "text": "≤ 2 MB RSS"}),
        figures.figure("shim_pss", "shim PSS per container (mean over %d shims)" % m, "MB",
                       shim_pss, "berth-shim", errors=err,
                       note="PSS splits pages shared between shims (the binary's text) "
                            "among them: what each further container costs"),
        figures.figure("memory_per_container",
                       "memory per container: daemon growth + shim PSS, over %d" % m, "MB",
                       per_container, "berth", errors=err,
                       note="(daemon RSS with the containers - idle RSS + sum of shim PSS) / "
                            "containers; docker's daemon side is dockerd + its containerd"),
    ]
    return figs
