"""Helpers shared by the benchmark suites: logging, commands, statistics, processes, memory.

The harness is a child subreaper (PR_SET_CHILD_SUBREAPER): the shims that the daemons start
double-fork, and on this host PID 1 does not reap orphans, so without it every exited shim
would stay a zombie. Adopted processes are reaped (and, once their daemon is gone, killed) by
pid here; nothing is ever killed by name.
"""
import ctypes
import os
import signal
import statistics
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36

# Popen objects the harness started itself (daemons): reap_adopted leaves these alone, so that
# their own wait() still sees their exit status.
_tracked = set()


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def become_subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def track(proc):
    _tracked.add(proc.pid)
    return proc


def untrack(proc):
    _tracked.discard(proc.pid)


def run(args, check=True, timeout=600, **kw):
    """Runs a command, capturing its output; raises with its stderr when it fails."""
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, **kw)
    if check and r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(args), r.returncode,
                                                (r.stderr or r.stdout).strip()[-2000:]))
    return r


def timed(args, check=True, timeout=600, **kw):
    """Runs a command with its output thrown away; returns the wall time in seconds."""
    start = time.perf_counter()
    r = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL, **kw)
    elapsed = time.perf_counter() - start
    if check and r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(args), r.returncode,
                                                r.stderr.strip()[-2000:]))
    return elapsed


def wait_until(check, what, timeout=60.0, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return
        time.sleep(interval)
    raise RuntimeError("timed out after %.0f s waiting for %s" % (timeout, what))


# ---- statistics ----

def summarize(values):
    """median, min, max, quartiles and the runs themselves."""
    v = sorted(values)
    if not v:
        return {"n": 0}
    q1, _, q3 = (statistics.quantiles(v, n=4, method="inclusive") if len(v) > 1 else
                 (v[0], v[0], v[0]))
    return {"n": len(v), "median": statistics.median(v), "min": v[0], "max": v[-1],
            "q1": q1, "q3": q3, "runs": list(values)}


def paired_ratios(a, b):
    """a[i] / b[i] for the runs measured side by side (same index = same round)."""
    return [x / y for x, y in zip(a, b) if y]


# ---- processes ----

def proc_table():
    """{pid: (ppid, comm, state)} of every process."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        # comm is in parentheses and may hold spaces; what follows is "state ppid ...".
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        rest = stat[stat.rindex(")") + 2:].split()
        out[int(entry)] = (int(rest[1]), comm, rest[0])
    return out


def children_of_me():
    """{pid: (comm, state)} of this process's children (including adopted ones)."""
    me = os.getpid()
    return {pid: (c, st) for pid, (ppid, c, st) in proc_table().items() if ppid == me}


def descendants(root, comm_prefix=""):
    """Live descendants of `root` whose comm starts with comm_prefix."""
    table = proc_table()
    kids = {}
    for pid, (ppid, _, _) in table.items():
        kids.setdefault(ppid, []).append(pid)
    out, todo = [], list(kids.get(root, []))
    while todo:
        pid = todo.pop()
        ppid, c, st = table[pid]
        if st != "Z" and c.startswith(comm_prefix):
            out.append(pid)
        todo.extend(kids.get(pid, []))
    return sorted(out)


def reap_adopted():
    """Reaps exited processes this subreaper adopted (never the Popen children it tracks)."""
    for pid, (_, state) in children_of_me().items():
        if state == "Z" and pid not in _tracked:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def adopted(comm_prefix=""):
    """Live adopted processes (shims, or what a killed shim left) whose comm starts so."""
    return sorted(pid for pid, (comm, state) in children_of_me().items()
                  if state != "Z" and pid not in _tracked and comm.startswith(comm_prefix))


def kill_adopted(grace=5.0):
    """Kills, by pid, what a stopped daemon left running under this subreaper: its shims after
    `grace` seconds, then the container processes those release. Returns how many it killed."""
    killed = 0
    soft = time.time() + grace
    hard = soft + 15
    while True:
        reap_adopted()
        live = adopted()
        if not live:
            return killed
        now = time.time()
        if now > hard:
            log("adopted processes %s outlive SIGKILL; leaving them" % live)
            return killed
        if now >= soft:
            for pid in live:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
                except ProcessLookupError:
                    pass
        time.sleep(0.1)


def stop_process(proc, sig=signal.SIGTERM, timeout=30.0):
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    untrack(proc)


# ---- memory ----

KEPT = ("Rss", "Pss", "Anonymous", "Shared_Clean", "Private_Clean", "Private_Dirty", "Swap")


def memory_kb(pid):
    """KEPT fields in kB from /proc/PID/smaps_rollup, plus 'Threads'."""
    fields = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB" and parts[0].rstrip(":") in KEPT:
                fields[parts[0].rstrip(":")] = int(parts[1])
    fields["Threads"] = len(os.listdir("/proc/%d/task" % pid))
    return fields


def child_pids(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


# ---- cgroups and mounts ----

def cgroup2_mount():
    """Where the cgroup2 hierarchy is mounted in this mount namespace (never a v1 one)."""
    found = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            dash = parts.index("-")
            if parts[dash + 1] == "cgroup2":
                found = parts[4]
    return found


def remove_cgroup_tree(relative):
    """rmdir, deepest first, a cgroup subtree that this run made in the cgroup2 hierarchy."""
    root = cgroup2_mount()
    if not root or not relative.strip("/"):
        return
    top = os.path.join(root, relative.strip("/"))
    if not os.path.isdir(top):
        return
    for dirpath, dirnames, _ in sorted(os.walk(top), key=lambda w: -w[0].count("/")):
        try:
            os.rmdir(dirpath)
        except OSError as e:
            log("could not remove cgroup %s: %s" % (dirpath, e))


def mounts_under(prefix):
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            target = line.split()[4]
            if target == prefix or target.startswith(prefix.rstrip("/") + "/"):
                out.append(target)
    return out


def unmount_under(prefix):
    for target in sorted(mounts_under(prefix), key=len, reverse=True):
        subprocess.run(["umount", "-l", target], stderr=subprocess.DEVNULL)


def links():
    r = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True)
    return {l.split(":")[1].strip().split("@")[0] for l in r.stdout.splitlines() if ":" in l}
