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
import subprocess

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
    # Output to a file, not a pipe, and wait for the script's own pid: a daemon it leaves
    # behind would hold a pipe open for ever. What it leaves is adopted by this subreaper and
    # killed, by pid, once it has exited.
    log = os.path.join(ctx.tmp, "build.log")
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdin=subprocess.DEVNULL, stdout=f,
                                stderr=subprocess.STDOUT)
        try:
            code = proc.wait(3600)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
    left = util.kill_adopted(grace=3.0)
    output = open(log, errors="replace").read()
    if left:
        output += "\n(bench/run: the script left %d processes running; killed them)" % left
        util.log("build: %s left %d processes running; killed them" % (path, left))
    for cg in ("berth/berthbench-build", "berthbench-build-docker"):
        util.remove_cgroup_tree(cg)
    ctx.meta["build"] = {"script": os.path.relpath(path, REPO), "exit": code,
                         "output": output[-6000:]}
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
    if code != 0:
        util.log("build: %s exited %d" % (path, code))
    return figs
