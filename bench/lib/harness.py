"""bench/run: every benchmark, side by side with the peers, into bench/results/.

See bench/README.md. Order of work: install missing peers (apt-get), build berth (-c opt),
make a tmpfs for everything, run the suites, write JSON + markdown + PNGs, clean up.
"""
import argparse
import atexit
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import images
import peers
import report
import util

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BINARIES = {"berthd": "services/daemon", "berth": "ctl", "berth-shim": "shim",
            "berth-runtime": "runtime"}
SUITES = ("runtime", "engine", "containers", "unpack", "build")

# Debian packages: the peers, and the plotting library for the system python3.
PACKAGES = {"runc": "/usr/sbin/runc", "containerd": "/usr/bin/containerd",
            "docker.io": "/usr/sbin/dockerd", "crun": "/usr/bin/crun",
            "python3-matplotlib": "/usr/lib/python3/dist-packages/matplotlib"}


class Context:
    def __init__(self, args, tmp, bindir):
        self.quick = args.quick
        self.tmp = tmp
        self.bin = bindir
        q = args.quick
        self.runtime_rounds = args.rounds or (20 if q else 50)
        self.engine_rounds = args.rounds or (10 if q else 20)
        self.container_rounds = args.rounds or (3 if q else 10)
        self.unpack_rounds = args.rounds or (3 if q else 10)
        self.throughput_containers = args.containers or (40 if q else 200)
        self.mem_containers = min(args.mem_containers or (20 if q else 100),
                                  self.throughput_containers)
        self.unpack_layers = args.unpack_layers
        self.versions, self.meta, self.raw = {}, {}, {}
        self._daemons, self._loaded, self._errors = {}, set(), {}
        self._images = None

    @staticmethod
    def rotate(items, i):
        items = list(items)
        k = i % len(items)
        return items[k:] + items[:k]

    def daemon(self, name):
        if name not in self._daemons:
            d = {"berth": lambda: peers.Berth(self.tmp, self.bin),
                 "containerd": lambda: peers.Containerd(self.tmp),
                 "docker": lambda: peers.Docker(self.tmp)}[name]()
            self._daemons[name] = d
        return self._daemons[name]

    def start_daemons(self, names):
        """Starts each (loading the busybox image the first time); a peer that cannot run
        here is reported in the errors and left out."""
        if self._images is None:
            self._images = images.Busybox(self.tmp)
        running, errors = [], {}
        for name in names:
            if name in self._errors:
                errors[name] = self._errors[name]
                continue
            if name == "docker" and not peers.docker_available():
                errors[name] = self._errors[name] = "docker.io is not installed"
                continue
            if name == "containerd" and not peers.containerd_available():
                errors[name] = self._errors[name] = "containerd is not installed"
                continue
            d = self.daemon(name)
            try:
                d.start()
                if name not in self._loaded:
                    d.load_busybox(self._images)
                    self._loaded.add(name)
                running.append(d)
            except Exception as e:  # a peer that cannot run here: say why and go on
                if name == "berth":
                    raise
                log = os.path.join(d.dir, "daemon.log")
                tail = open(log, errors="replace").read()[-1500:] if os.path.exists(log) else ""
                errors[name] = self._errors[name] = "%s; %s" % (e, tail.strip())
                util.log("%s cannot run here: %s" % (name, errors[name]))
                d.stop()
        return running, errors

    def stop_daemons(self, daemons):
        for d in daemons:
            d.stop()
        util.reap_adopted()

    def stop_all(self):
        for d in self._daemons.values():
            try:
                d.stop()
            except Exception as e:
                util.log("stopping %s: %s" % (d.name, e))


def ensure_packages(skip):
    missing = [p for p, path in PACKAGES.items() if not os.path.exists(path)]
    if not missing or skip:
        return missing if skip else []
    util.log("installing %s with apt-get ..." % " ".join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # No daemon may start on the host from a package's postinst: policy-rc.d says no (101).
    policy = "/usr/sbin/policy-rc.d"
    made_policy = not os.path.exists(policy)
    if made_policy:
        with open(policy, "w") as f:
            f.write("#!/bin/sh\nexit 101\n")
        os.chmod(policy, 0o755)
    try:
        r = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends"] + missing,
                           env=env, capture_output=True, text=True)
        if r.returncode != 0:
            subprocess.run(["apt-get", "update"], env=env, capture_output=True)
            subprocess.run(["apt-get", "install", "-y", "--no-install-recommends"] + missing,
                           env=env, capture_output=True, text=True)
    finally:
        if made_policy:
            os.unlink(policy)
    return [p for p, path in PACKAGES.items() if not os.path.exists(path)]


def build(args, tmp):
    bindir = os.path.join(tmp, "bin")
    os.makedirs(bindir)
    built_note = None
    if args.bin:
        src = {b: os.path.join(args.bin, b) for b in BINARIES}
    else:
        util.log("building berth (bazel build -c opt) ...")
        targets = ["//%s:%s" % (pkg, b) for b, pkg in BINARIES.items()]
        r = subprocess.run(["bazel", "build", "-c", "opt"] + targets, cwd=REPO,
                           capture_output=True, text=True)
        # Not bazel-bin/: that link follows whichever configuration was built last, and others
        # may build in this checkout meanwhile.
        src = {b: os.path.join(REPO, "bazel-out/k8-opt/bin", pkg, b)
               for b, pkg in BINARIES.items()}
        if r.returncode != 0:
            errors = [l for l in r.stderr.splitlines() if "error" in l.lower()]
            if not all(os.path.exists(p) for p in src.values()):
                sys.exit("bench: bazel build failed:\n" + r.stderr[-4000:])
            # A shared checkout may not build while someone is mid-change: the last opt
            # binaries are measured instead, and the results say so.
            built_note = "bazel build failed (%s); measured the opt binaries already built" % (
                " / ".join(errors[:2])[:400])
            util.log(built_note)
    for b, path in src.items():
        shutil.copy(path, os.path.join(bindir, b))
    return bindir, {"source": args.bin or "bazel-out/k8-opt/bin",
                    "note": built_note,
                    "built": {b: time.strftime("%Y-%m-%d %H:%M", time.localtime(
                        os.path.getmtime(p))) for b, p in src.items()}}


def machine():
    info = {}
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    info["cores"] = os.cpu_count()
    with open("/proc/meminfo") as f:
        info["memory_gb"] = round(int(f.readline().split()[1]) / 1024 / 1024, 1)
    info["kernel"] = os.uname().release
    try:
        info["os"] = [l.split("=", 1)[1].strip().strip('"') for l in open("/etc/os-release")
                      if l.startswith("PRETTY_NAME=")][0]
    except (OSError, IndexError):
        pass
    return info


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def versions():
    out = {}
    for name, cmd in (("containerd", ["/usr/bin/containerd", "--version"]),
                      ("dockerd", ["/usr/sbin/dockerd", "--version"]),
                      ("runc", ["runc", "--version"]), ("crun", ["crun", "--version"])):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            out[name] = r.stdout.splitlines()[0] if r.stdout else ""
        except (OSError, subprocess.TimeoutExpired):
            pass
    r = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                       text=True)
    dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    out["berth"] = r.stdout.strip() + ("+uncommitted changes" if dirty else "")
    return out


def dumps(results):
    """Indented JSON, except the raw rounds (thousands of shims), kept on one line."""
    head = json.dumps({k: v for k, v in results.items() if k != "raw"}, indent=1)
    return head[:-2] + ',\n "raw": ' + json.dumps(results.get("raw", {}),
                                                 separators=(",", ":")) + "\n}\n"


def main(argv):
    p = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    p.add_argument("--quick", action="store_true", help="fewer rounds and containers (<10 min)")
    p.add_argument("--out", default=os.path.join(REPO, "bench/results"),
                   help="where the results go (default bench/results)")
    p.add_argument("--only", default=",".join(SUITES),
                   help="comma-separated suites: " + ",".join(SUITES))
    p.add_argument("--rounds", type=int, help="rounds for every suite (overrides the defaults)")
    p.add_argument("--containers", type=int, help="containers per throughput batch")
    p.add_argument("--mem-containers", type=int, help="sleeping containers for memory")
    p.add_argument("--unpack-layers", nargs="*", help="directories under / for the big image")
    p.add_argument("--bin", help="take berth's binaries from DIR instead of building them")
    p.add_argument("--no-install", action="store_true", help="do not apt-get install peers")
    p.add_argument("--name", help="results file name (default DATE or DATE-quick)")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        sys.exit("bench: needs root")
    suites = [s for s in args.only.split(",") if s]
    for s in suites:
        if s not in SUITES:
            sys.exit("bench: unknown suite %r (known: %s)" % (s, ", ".join(SUITES)))

    t_start = time.time()
    load_before = load()
    util.become_subreaper()
    missing = ensure_packages(args.no_install)

    tmp = tempfile.mkdtemp(prefix="berth-bench.")
    links_before = util.links()
    ctx = None

    def cleanup():
        if ctx is not None:
            ctx.stop_all()
        util.kill_adopted(grace=1.0)
        for cg in ("berth/" + peers.NAMESPACE, peers.NAMESPACE, peers.DOCKER_CGROUP):
            util.remove_cgroup_tree(cg)
        for link in util.links() - links_before:
            if link == peers.BRIDGE or link.startswith("veth"):
                # Only what berthd here could have made (its bridge is ours alone).
                subprocess.run(["ip", "link", "del", link], stderr=subprocess.DEVNULL)
        util.unmount_under(tmp)
        shutil.rmtree(tmp, ignore_errors=True)

    atexit.register(cleanup)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, f: sys.exit(128 + s))

    # Everything (daemon roots, images, state) on one tmpfs: the numbers measure the engines,
    # not the disk of a shared VM.
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16g,mode=0755", "tmpfs", tmp], check=True)
    t_build = time.time()
    bindir, binaries = build(args, tmp)
    build_seconds = round(time.time() - t_build, 1)
    ctx = Context(args, tmp, bindir)

    results = {"date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
               "mode": "quick" if args.quick else "full", "machine": machine(),
               "load_before": load_before, "versions": versions(), "figures": [],
               "missing_packages": missing, "suite_errors": {}}
    import suite_build, suite_containers, suite_engine, suite_runtime, suite_unpack
    modules = {"runtime": suite_runtime, "engine": suite_engine, "containers": suite_containers,
               "unpack": suite_unpack, "build": suite_build}
    timings = {}
    for s in suites:
        t0 = time.time()
        try:
            results["figures"] += modules[s].run(ctx)
        except Exception as e:
            util.log("suite %s failed: %s" % (s, e))
            results["suite_errors"][s] = str(e)
            ctx.stop_all()
        timings[s] = round(time.time() - t0, 1)
        util.log("%s: %.0f s" % (s, timings[s]))
    results["versions"].update(ctx.versions)
    results["meta"] = ctx.meta
    results["settings"] = {"runtime_rounds": ctx.runtime_rounds,
                           "engine_rounds": ctx.engine_rounds,
                           "container_rounds": ctx.container_rounds,
                           "unpack_rounds": ctx.unpack_rounds,
                           "throughput_containers": ctx.throughput_containers,
                           "mem_containers": ctx.mem_containers}
    results["suite_seconds"] = timings
    results["berth_binaries"] = binaries
    results["bazel_build_seconds"] = build_seconds
    results["load_after"] = load()
    results["total_seconds"] = round(time.time() - t_start, 1)
    results["raw"] = ctx.raw

    os.makedirs(args.out, exist_ok=True)
    name = args.name or (datetime.date.today().isoformat() + ("-quick" if args.quick else ""))
    base = os.path.join(args.out, name)
    with open(base + ".json", "w") as f:
        f.write(dumps(results))
    pngs = report.plots(base + ".json", base)
    with open(base + ".md", "w") as f:
        f.write(report.markdown(results, [os.path.basename(p) for p in pngs]))
    util.log("wrote %s.{json,md} and %d plots in %.0f s" % (base, len(pngs),
                                                           results["total_seconds"]))
    print(open(base + ".md").read())
    return 1 if results["suite_errors"] else 0
