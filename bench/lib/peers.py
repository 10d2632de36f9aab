"""The engines under test: berthd, containerd (driven by ctr) and dockerd, each on a private
root, state and socket under the run's temp dir.

Every daemon runs in a private mount namespace with the cgroup2 hierarchy mounted at
/sys/fs/cgroup (as e2e/ctr_test.cc runs containerd): the peers then see a pure cgroup v2 host
and never touch this machine's v1 hierarchies, and every mount a daemon makes (overlay
rootfs, docker's netns files) dies with that namespace. The cgroups they make are named here
(NAMESPACE below, docker's --cgroup-parent) and removed after each stop, in the cgroup2
hierarchy only.
"""
import os
import signal
import subprocess

import util

NAMESPACE = "berthbench"     # berth and containerd namespace; cgroups /berth/NS/…, /NS/…
DOCKER_CGROUP = "berthbench-docker"
BRIDGE = "bbench0"           # berthd's bridge name, should anything make one (none should)
BB = "docker.io/library/bb:latest"


class Daemon:
    name = ""
    shim_comm = ""
    cgroups = ()

    def __init__(self, tmp):
        self.dir = os.path.join(tmp, self.name)
        os.makedirs(self.dir, exist_ok=True)
        self.proc = None

    # -- life --

    def command(self):
        raise NotImplementedError

    def ready(self):
        return util.run(self.cli("version"), check=False, timeout=30).returncode == 0

    def start(self):
        log = open(os.path.join(self.dir, "daemon.log"), "ab")
        inner = "mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec " + " ".join(self.command())
        self.proc = util.track(subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", inner],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log))
        log.close()

        def up():
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited (%s); see %s/daemon.log" %
                                   (self.name, self.proc.returncode, self.dir))
            return self.ready()
        util.wait_until(up, self.name + " to answer", timeout=90, interval=0.1)

    def stop(self):
        if self.proc is None:
            return
        util.stop_process(self.proc, signal.SIGTERM, timeout=60)
        self.proc = None
        n = util.kill_adopted()
        if n:
            util.log("%s left %d processes running; killed them" % (self.name, n))
        for cg in self.cgroups:
            util.remove_cgroup_tree(cg)

    def diagnose(self, cid):
        """The tail of the daemon's log (and berth's shim log) after a failed command."""
        out = []
        for path in self.logs(cid):
            try:
                with open(path, errors="replace") as f:
                    out.append("%s: %s" % (os.path.basename(path), " | ".join(
                        f.read().strip().splitlines()[-5:])))
            except OSError:
                pass
        return "; ".join(out)

    def logs(self, cid):
        return [os.path.join(self.dir, "daemon.log")]

    @property
    def pid(self):
        return self.proc.pid

    def memory_pids(self):
        """The daemon's own processes, whose RSS is 'daemon memory'."""
        return {self.name: self.pid}

    # -- containers --

    def cli(self, *args):
        raise NotImplementedError

    def load_busybox(self, images):
        raise NotImplementedError

    def run_rm(self, cid):
        """`run --rm IMAGE true`."""
        raise NotImplementedError

    def run_detached(self, cid):
        raise NotImplementedError

    def remove(self, cid):
        """Removes a running container; a list of commands, timed together."""
        raise NotImplementedError


class Berth(Daemon):
    name = "berth"
    shim_comm = "berth-shim"
    cgroups = ("berth/" + NAMESPACE,)

    def __init__(self, tmp, bindir, root=None):
        super().__init__(tmp)
        self.bin = bindir
        self.root = root or os.path.join(self.dir, "root")
        self.sock = os.path.join(self.dir, "b.sock")
        self.config = os.path.join(self.dir, "config.yaml")
        # --default-network none: docker runs with --network none and ctr gives a container a
        # netns with only lo, so all three start the same kind of container.
        with open(self.config, "w") as f:
            f.write("shim: %s/berth-shim\n" % bindir)
            f.write("runtimes:\n  berth-runtime: %s/berth-runtime\n" % bindir)
            f.write("default_network: none\nbridge_name: %s\n" % BRIDGE)

    def command(self):
        return [os.path.join(self.bin, "berthd"), "--config", self.config, "--root", self.root,
                "--state", os.path.join(self.dir, "state"), "--address",
                "unix://" + self.sock, "--log-level", "warn", "--default-network", "none"]

    def cli(self, *args):
        return [os.path.join(self.bin, "berth"), "-H", "unix://" + self.sock, "-n", NAMESPACE] + \
            list(args)

    def logs(self, cid):
        return [os.path.join(self.dir, "daemon.log"),
                os.path.join(self.dir, "state/tasks", NAMESPACE, cid, "shim.log")]

    def load_busybox(self, images):
        util.run(self.cli("load", "-i", images.oci))

    def load(self, path):
        return self.cli("load", "-i", path)

    def run_rm(self, cid):
        return [self.cli("run", "--rm", "--name", cid, BB, "true")]

    def run_detached(self, cid):
        return [self.cli("run", "-d", "--name", cid, BB, "sleep", "100000")]

    def remove(self, cid):
        return [self.cli("rm", "-f", cid)]


class Containerd(Daemon):
    name = "containerd"
    shim_comm = "containerd-shim"
    cgroups = (NAMESPACE,)

    def __init__(self, tmp, root=None):
        super().__init__(tmp)
        self.sock = os.path.join(self.dir, "c.sock")
        self.config = os.path.join(self.dir, "config.toml")
        d = self.dir
        with open(self.config, "w") as f:
            f.write('version = 2\nroot = "%s"\nstate = "%s/state"\n' % (root or d + "/root", d))
            f.write('disabled_plugins = ["io.containerd.grpc.v1.cri", '
                    '"io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", '
                    '"io.containerd.snapshotter.v1.devmapper", '
                    '"io.containerd.snapshotter.v1.aufs"]\n')
            f.write('[grpc]\n  address = "%s"\n[ttrpc]\n  address = "%s.ttrpc"\n' %
                    (self.sock, self.sock))

    def command(self):
        return ["/usr/bin/containerd", "--config", self.config, "--log-level", "warn"]

    def cli(self, *args):
        return ["/usr/bin/ctr", "--address", self.sock, "--namespace", NAMESPACE] + list(args)

    def load_busybox(self, images):
        util.run(self.cli("images", "import", images.oci))

    def load(self, path):
        return self.cli("images", "import", path)

    # --cpu-shares 0: ctr's default of 1024 makes runc write cpu.weight, which the cgroup2
    # tree of a hybrid host (no cpu controller there) does not have.
    def run_rm(self, cid):
        return [self.cli("run", "--rm", "--cpu-shares", "0", BB, cid, "true")]

    def run_detached(self, cid):
        return [self.cli("run", "-d", "--cpu-shares", "0", BB, cid, "sleep", "100000")]

    def remove(self, cid):
        # ctr has no `rm -f`: the task is killed and deleted, then the container (and its
        # snapshot) is deleted; two calls, as containerd's API needs them.
        return [self.cli("tasks", "delete", "--force", cid), self.cli("containers", "delete", cid)]


class Docker(Daemon):
    name = "docker"
    shim_comm = "containerd-shim"
    cgroups = (DOCKER_CGROUP,)

    def __init__(self, tmp):
        super().__init__(tmp)
        self.sock = os.path.join(self.dir, "d.sock")

    def command(self):
        d = self.dir
        # No bridge, no iptables, no NAT: nothing here touches the host's network, and
        # containers run with --network none. cgroupfs driver under a cgroup parent of our
        # own, in the private cgroup2 view.
        return ["/usr/sbin/dockerd", "--data-root", d + "/root", "--exec-root", d + "/exec",
                "-H", "unix://" + self.sock, "--pidfile", d + "/docker.pid",
                "--iptables=false", "--ip-masq=false", "--ip-forward=false", "--bridge=none",
                "--userland-proxy=false", "--cgroup-parent", "/" + DOCKER_CGROUP,
                "--exec-opt", "native.cgroupdriver=cgroupfs", "--storage-driver", "overlay2",
                "--log-level", "warn"]

    def cli(self, *args):
        # Debian's client, of the same version as its dockerd (not a newer one on PATH).
        return ["/usr/bin/docker", "-H", "unix://" + self.sock] + list(args)

    def memory_pids(self):
        pids = {"dockerd": self.pid}
        for c in util.child_pids(self.pid):
            if util.comm(c) == "containerd":
                pids["docker's containerd"] = c
        return pids

    def load_busybox(self, images):
        util.run(self.cli("import", "--change", 'CMD ["sh"]', "--change", "ENV PATH=/bin",
                          images.layer, "bb:latest"))

    def run_rm(self, cid):
        return [self.cli("run", "--rm", "--network", "none", "--name", cid, "bb", "true")]

    def run_detached(self, cid):
        return [self.cli("run", "-d", "--network", "none", "--name", cid, "bb", "sleep",
                         "100000")]

    def remove(self, cid):
        return [self.cli("rm", "-f", cid)]


def docker_available():
    return os.access("/usr/sbin/dockerd", os.X_OK) and os.access("/usr/bin/docker", os.X_OK)


def containerd_available():
    return os.access("/usr/bin/containerd", os.X_OK) and os.access("/usr/bin/ctr", os.X_OK)
