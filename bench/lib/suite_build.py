"""build: the hook for bench/build (written apart), cold and cached, berth vs docker.

The contract, for bench/build/bench.sh (or an executable bench/build/run):
  - it is run from the repo root as root, with the environment
      BENCH_BIN    a directory holding the opt berthd, berth, berth-shim and berth-runtime
      BENCH_QUICK  1 for a quick run, else 0
      BENCH_JSON   where it may write its figures
  - it starts and stops its own daemons (or reuses nothing of this harness's);
  - if it writes BENCH_JSON as {"figures": [...]} (each made like figures.figure(), or as
    {"id", "title", "unit", "runs": {contender: [values]}, "subject", "better"}), those
    figures join the table and plots; whatever it prints is kept in the results as text.
"""
import json
import os

import figures
import util

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def script():
    for name in ("bench/build/bench.sh", "bench/build/run"):
        path = os.path.join(REPO, name)
        if os.access(path, os.X_OK) or (name.endswith(".sh") and os.path.exists(path)):
            return path
    return None


def run(ctx):
    path = script()
    if path is None:
        ctx.meta["build"] = ("HOOK: bench/build/ is not there yet; when it is, bench/run calls "
                             "it (see bench/lib/suite_build.py for the contract)")
        util.log("build: " + ctx.meta["build"])
        return []
    out = os.path.join(ctx.tmp, "build.json")
    env = dict(os.environ, BENCH_BIN=ctx.bin, BENCH_QUICK="1" if ctx.quick else "0",
               BENCH_JSON=out)
    util.log("build: running %s ..." % os.path.relpath(path, REPO))
    cmd = [path] if os.access(path, os.X_OK) else ["bash", path]
    r = util.run(cmd, check=False, timeout=3600, env=env, cwd=REPO)
    ctx.meta["build"] = {"script": os.path.relpath(path, REPO), "exit": r.returncode,
                         "output": (r.stdout + r.stderr)[-6000:]}
    figs = []
    if os.path.exists(out):
        try:
            for f in json.load(open(out)).get("figures", []):
                if "contenders" in f:
                    figs.append(f)
                else:
                    figs.append(figures.figure(f["id"], f["title"], f["unit"], f["runs"],
                                               f["subject"], better=f.get("better", "lower"),
                                               note=f.get("note")))
        except (ValueError, KeyError) as e:
            ctx.meta["build"]["error"] = "could not read %s: %s" % (out, e)
    if r.returncode != 0:
        util.log("build: %s exited %d" % (path, r.returncode))
    return figs
