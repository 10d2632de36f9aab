#!/usr/bin/env python3
"""Measures the memory of one shim per side, each holding one sleeping busybox container.

Usage: measure.py TMPDIR    (run by bench.sh, as root; TMPDIR holds berth-shim, berth-runtime
                             and bb.tar, the busybox image for containerd)

berth: berth-shim --foreground driving berth-runtime, spoken to over its socket here (the few
messages needed are encoded by hand: no protobuf module is needed). containerd: containerd in a
private mount namespace with the cgroup2 hierarchy at /sys/fs/cgroup (as e2e/ctr_test.cc runs
it), `ctr run -d` with its default runtime (containerd-shim-runc-v2 and runc).

This process is a child subreaper, so that the shims containerd starts (which detach) are
reaped here when they exit rather than left as zombies of a PID 1 that does not reap. Every
process is stopped by pid.
"""
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time

TMP = sys.argv[1]
SETTLE_S = 2.0  # let each shim reach its steady state before it is measured
PR_SET_CHILD_SUBREAPER = 36


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


# ---- the shim protocol, by hand (proto/berth/shim/v1/shim.proto) ----

def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def field(num, value):
    """A varint field for ints, a length-delimited one for bytes/str."""
    if isinstance(value, int):
        return varint(num << 3) + varint(value)
    if isinstance(value, str):
        value = value.encode()
    return varint((num << 3) | 2) + varint(len(value)) + value


def parse(buf):
    """Top-level fields of a message: {number: [values]} (ints or bytes)."""
    out, i = {}, 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = read_varint(buf, i)
        elif wire == 2:
            n, i = read_varint(buf, i)
            v, i = buf[i:i + n], i + n
        elif wire == 1:
            v, i = buf[i:i + 8], i + 8
        elif wire == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError("unexpected wire type %d" % wire)
        out.setdefault(num, []).append(v)
    return out


def read_varint(buf, i):
    v, shift = 0, 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


class ShimClient:
    # Request oneof field numbers.
    CONNECT, CREATE, START, KILL, DELETE, WAIT, SHUTDOWN = 2, 3, 4, 6, 7, 9, 18

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.connect(path)
        self.next_id = 0

    def call(self, kind, body=b""):
        self.next_id += 1
        self.sock.send(field(1, self.next_id) + field(kind, body))
        while True:
            packet = parse(self.sock.recv(65536))
            if 1 not in packet:
                continue  # an event
            resp = parse(packet[1][0])
            code = resp.get(2, [0])[0]
            if code != 0:
                raise RuntimeError("shim request %d failed (code %d): %s" %
                                   (kind, code, resp.get(3, [b""])[0].decode()))
            return resp


# ---- measuring ----

def memory(pid):
    """(rss_kb, pss_kb, anon_kb, threads) of a process."""
    fields = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                fields[parts[0].rstrip(":")] = int(parts[1])
    threads = len(os.listdir("/proc/%d/task" % pid))
    return fields["Rss"], fields["Pss"], fields["Anonymous"], threads


def wait_until(check, what, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for " + what)


def stop(proc, sig=signal.SIGTERM, timeout=20.0):
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def cgroup2_mount():
    found = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            dash = parts.index("-")
            if parts[dash + 1] == "cgroup2":
                found = parts[4]
    return found


def make_bundle(path):
    rootfs = os.path.join(path, "rootfs")
    for d in ("bin", "proc", "sys", "dev", "tmp", "etc"):
        os.makedirs(os.path.join(rootfs, d), exist_ok=True)
    subprocess.run(["cp", "/bin/busybox", os.path.join(rootfs, "bin/busybox")], check=True)
    for applet in ("sh", "sleep"):
        os.symlink("busybox", os.path.join(rootfs, "bin", applet))
    subprocess.run([os.path.join(TMP, "berth-runtime"), "spec"], cwd=path, check=True)
    import json
    spec_path = os.path.join(path, "config.json")
    spec = json.load(open(spec_path))
    spec["process"]["terminal"] = False
    spec["process"]["args"] = ["sleep", "100000"]
    spec["linux"]["cgroupsPath"] = "/berth-bench-shim/c"
    json.dump(spec, open(spec_path, "w"))


# ---- published ports: an echo server on loopback stands in for the container ----

class Echo:
    """TCP (a thread per connection) and UDP echo on 127.0.0.1, until stop()."""

    def __init__(self):
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(64)
        self.tcp.settimeout(0.2)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(0.2)
        self.stopped = False
        self.threads = [threading.Thread(target=f) for f in (self.serve_tcp, self.serve_udp)]
        for t in self.threads:
            t.start()

    def serve_tcp(self):
        while not self.stopped:
            try:
                c, _ = self.tcp.accept()
            except socket.timeout:
                continue
            t = threading.Thread(target=self.echo, args=(c,))
            t.start()
            self.threads.append(t)

    def echo(self, c):
        with c:
            while True:
                data = c.recv(65536)
                if not data:
                    return
                c.sendall(data)

    def serve_udp(self):
        while not self.stopped:
            try:
                data, addr = self.udp.recvfrom(65536)
            except socket.timeout:
                continue
            self.udp.sendto(data, addr)

    def stop(self):
        self.stopped = True
        for t in list(self.threads):
            t.join()
        self.tcp.close()
        self.udp.close()


def port_forward(protocol, container_port):
    return (field(1, protocol) + field(2, "127.0.0.1") + field(3, 0) + field(4, "127.0.0.1") +
            field(5, container_port))


def relay_traffic(tcp_port, udp_port, connections=8, size=1 << 20, datagrams=200):
    """Echoes `size` bytes over each of `connections` TCP connections at once, and datagrams."""
    errors = []

    def one(i):
        try:
            payload = bytes((i + j) & 0xFF for j in range(256)) * (size // 256)
            with socket.create_connection(("127.0.0.1", tcp_port), timeout=30) as s:
                sender = threading.Thread(target=lambda: (s.sendall(payload),
                                                          s.shutdown(socket.SHUT_WR)))
                sender.start()
                got = bytearray()
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    got += chunk
                sender.join()
            if bytes(got) != payload:
                errors.append("connection %d: %d of %d bytes echoed" % (i, len(got), size))
        except OSError as e:
            errors.append("connection %d: %s" % (i, e))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(2)
    echoed = 0
    for i in range(datagrams):
        u.sendto(b"datagram %d" % i, ("127.0.0.1", udp_port))
        try:
            echoed += u.recv(65536) == b"datagram %d" % i
        except socket.timeout:
            pass
    u.close()
    if errors or echoed < datagrams * 9 // 10:
        raise RuntimeError("relaying through the published ports failed: %s; %d of %d "
                           "datagrams echoed" % ("; ".join(errors) or "TCP fine", echoed,
                                                  datagrams))


def measure_berth(ports=False):
    """With `ports`, a TCP and a UDP port are published and relay traffic before measuring."""
    suffix = "-p" if ports else ""
    state = os.path.join(TMP, "s" + suffix)
    os.makedirs(state)
    bundle = os.path.join(TMP, "bundle" + suffix)
    make_bundle(bundle)
    sock = os.path.join(state, "shim.sock")
    with open(os.path.join(TMP, "berth-shim.stderr"), "wb") as err:
        shim = subprocess.Popen(
            [os.path.join(TMP, "berth-shim"), "--id", "bench-shim", "--socket", sock, "--state",
             state, "--runtime", os.path.join(TMP, "berth-runtime"), "--runtime-root",
             os.path.join(state, "rt"), "--foreground"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    try:
        wait_until(lambda: os.path.exists(sock), "berth-shim's socket")
        c = ShimClient(sock)
        c.call(ShimClient.CONNECT, field(1, 1))
        create = field(1, "bench-shim") + field(2, bundle)
        echo = Echo() if ports else None
        try:
            if ports:
                create += field(9, port_forward("tcp", echo.tcp.getsockname()[1]))
                create += field(9, port_forward("udp", echo.udp.getsockname()[1]))
            created = parse(c.call(ShimClient.CREATE, create)[5][0])
            c.call(ShimClient.START)
            if ports:
                bound = [parse(p)[3][0] for p in created[2]]
                relay_traffic(bound[0], bound[1])
        finally:
            if echo:
                echo.stop()
        time.sleep(SETTLE_S)
        result = memory(shim.pid)
        c.call(ShimClient.KILL, field(2, 9) + field(3, 1))
        c.call(ShimClient.WAIT)
        c.call(ShimClient.DELETE)
        c.call(ShimClient.SHUTDOWN, field(1, 1))
        shim.wait(20)
        return shim.pid, result
    finally:
        stop(shim, signal.SIGKILL)
        mount = cgroup2_mount()
        if mount:
            try:
                os.rmdir(mount + "/berth-bench-shim")
            except OSError:
                pass


def measure_containerd():
    d = os.path.join(TMP, "containerd")
    os.makedirs(d)
    sock = os.path.join(d, "c.sock")
    with open(os.path.join(d, "config.toml"), "w") as f:
        f.write('version = 2\nroot = "%s/root"\nstate = "%s/state"\n' % (d, d))
        f.write('disabled_plugins = ["io.containerd.grpc.v1.cri", '
                '"io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", '
                '"io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]\n')
        f.write('[grpc]\n  address = "%s"\n[ttrpc]\n  address = "%s.ttrpc"\n' % (sock, sock))
    with open(os.path.join(d, "containerd.log"), "wb") as err:
        containerd = subprocess.Popen(
            ["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
             "mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec /usr/bin/containerd --config "
             + d + "/config.toml --log-level warn"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)

    def ctr(*args, check=True):
        r = subprocess.run(["/usr/bin/ctr", "--address", sock, "--namespace", "bench-shim"] +
                           list(args), capture_output=True, text=True)
        if check and r.returncode != 0:
            raise RuntimeError("ctr %s: %s" % (" ".join(args), r.stderr.strip()))
        return r

    started = False
    try:
        wait_until(lambda: containerd.poll() is not None or
                   ctr("version", check=False).returncode == 0, "containerd")
        if containerd.poll() is not None:
            raise RuntimeError("containerd exited; see " + d + "/containerd.log")
        ctr("images", "import", os.path.join(TMP, "bb.tar"))
        # --cpu-shares 0: ctr's default of 1024 makes runc write cpu.weight, which the cgroup2
        # tree of a hybrid host (no cpu controller there) does not have.
        ctr("run", "-d", "--cpu-shares", "0", "docker.io/library/bb:latest", "bench-sleep",
            "sleep", "100000")
        started = True
        task_pid = 0
        for line in ctr("tasks", "ls").stdout.splitlines()[1:]:
            f = line.split()
            if f and f[0] == "bench-sleep":
                task_pid = int(f[1])
        with open("/proc/%d/status" % task_pid) as f:
            shim_pid = int([l for l in f if l.startswith("PPid:")][0].split()[1])
        with open("/proc/%d/comm" % shim_pid) as f:
            comm = f.read().strip()
        if not comm.startswith("containerd-shim"):
            raise RuntimeError("the container's parent is %s, not a containerd shim" % comm)
        time.sleep(SETTLE_S)
        return shim_pid, memory(shim_pid)
    finally:
        if started:
            ctr("tasks", "kill", "--signal", "KILL", "bench-sleep", check=False)
            wait_until(lambda: "RUNNING" not in ctr("tasks", "ls", check=False).stdout,
                       "the task to stop")
            ctr("tasks", "delete", "bench-sleep", check=False)
            ctr("containers", "delete", "bench-sleep", check=False)
        ctr("images", "rm", "docker.io/library/bb:latest", check=False)
        stop(containerd)
        mount = cgroup2_mount()
        if mount:
            try:
                os.rmdir(mount + "/bench-shim")
            except OSError:
                pass


def reap_adopted():
    """Waits for the processes adopted as subreaper (exited shims); kills none that run on."""
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.1)
    log("some adopted processes still run after 10 s; see ps --ppid %d" % os.getpid())


def main():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
    try:
        log("berth-shim + berth-runtime ...")
        berth_pid, berth = measure_berth()
        log("berth-shim + berth-runtime, a TCP and a UDP port published, after relaying "
            "8 x 1 MiB and 200 datagrams ...")
        ports_pid, ports = measure_berth(ports=True)
        log("containerd-shim-runc-v2 + runc (ctr run -d) ...")
        ctrd_pid, ctrd = measure_containerd()
    finally:
        reap_adopted()
    print("shim memory with one sleeping busybox container (/proc/PID/smaps_rollup, after %.0f s)"
          % SETTLE_S)
    print("  %-26s %8s %8s %9s %9s %9s" % ("shim", "pid", "threads", "RSS MB", "PSS MB",
                                           "Anon MB"))
    for name, pid, (rss, pss, anon, threads) in (("berth-shim", berth_pid, berth),
                                                 ("berth-shim -p tcp,udp", ports_pid, ports),
                                                 ("containerd-shim-runc-v2", ctrd_pid, ctrd)):
        print("  %-26s %8d %8d %9.2f %9.2f %9.2f" % (name, pid, threads, rss / 1024, pss / 1024,
                                                     anon / 1024))
    print("  ratio berth/containerd: RSS %.3f  PSS %.3f  Anon %.3f" %
          (berth[0] / ctrd[0], berth[1] / ctrd[1], berth[2] / ctrd[2]))
    print("  target berth-shim <= 2 MB RSS: %s" %
          ("met" if max(berth[0], ports[0]) <= 2048 else "NOT met"))


if __name__ == "__main__":
    main()
