#!/usr/bin/env python3
"""Writes the seed corpora of berth's fuzz targets into fuzz/corpus/<target>/, and their
libFuzzer dictionaries into fuzz/dict/<target>.dict.

Usage: fuzz/make_seeds.py            (from anywhere; rewrites the seeds it owns)

The seeds are committed; this script is how they were made, so that they can be made again
when a format grows. Each seed is small and valid (or one step from valid, for the attacks
the parsers must refuse): libFuzzer mutates from them. Inputs that crashed a target live in
fuzz/regressions/<target>/ instead, and are never rewritten by this script.
"""
import gzip
import io
import json
import os
import struct
import subprocess
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --- apply: one option byte, then a layer tar -------------------------------------------------

def tar(entries, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for e in entries:
            info = tarfile.TarInfo(e["name"])
            info.type = e.get("type", tarfile.REGTYPE)
            info.mode = e.get("mode", 0o644)
            info.uid = e.get("uid", 0)
            info.gid = e.get("gid", 0)
            info.mtime = e.get("mtime", 1700000000)
            info.linkname = e.get("link", "")
            info.devmajor, info.devminor = e.get("dev", (0, 0))
            if "pax" in e:
                info.pax_headers = e["pax"]
            data = e.get("data", b"")
            info.size = len(data) if info.type == tarfile.REGTYPE else 0
            t.addfile(info, io.BytesIO(data) if info.type == tarfile.REGTYPE else None)
    return buf.getvalue()


def D(name, mode=0o755, **kw):
    return dict(name=name, type=tarfile.DIRTYPE, mode=mode, **kw)


def F(name, data=b"x\n", mode=0o644, **kw):
    return dict(name=name, data=data, mode=mode, **kw)


def L(name, link):
    return dict(name=name, type=tarfile.SYMTYPE, link=link, mode=0o777)


def H(name, link):
    return dict(name=name, type=tarfile.LNKTYPE, link=link)


def apply_seeds():
    base = [D("bin"), F("bin/sh", b"#!\n", 0o755), D("etc"), F("etc/passwd", b"root:x:0:0::/:/bin/sh\n"),
            L("bin/ls", "sh"), H("bin/link", "bin/sh"), D("tmp", 0o1777)]
    layers = {
        "basic": (0, base),
        "basic_twice": (4, base),
        "owners_modes": (0, [D("a", 0o700, uid=1000, gid=1000), F("a/suid", b"s", 0o4755),
                              F("a/sgid", b"g", 0o2755, uid=65534, gid=65534)]),
        "xattrs": (0, [F("f", pax={"SCHILY.xattr.user.note": "hi",
                                   "SCHILY.xattr.security.capability": "\x01\x00\x00\x02",
                                   "SCHILY.xattr.trusted.overlay.opaque": "y"})]),
        "whiteouts_native": (0, [D("d"), F("d/.wh.gone"), F(".wh.top"), D("o"), F("o/.wh..wh..opq"),
                                 F("o/new")]),
        "whiteouts_overlay": (1, [D("d"), F("d/.wh.gone"), D("o"), F("o/.wh..wh..opq")]),
        "replace_dir_with_file": (4, [D("x"), F("x/y"), F("x")]),
        "fifo": (0, [dict(name="p", type=tarfile.FIFOTYPE, mode=0o600)]),
        "devices_refused": (0, [dict(name="null", type=tarfile.CHRTYPE, dev=(1, 3))]),
        "devices_allowed": (2, [dict(name="null", type=tarfile.CHRTYPE, dev=(1, 3)),
                                dict(name="blk", type=tarfile.BLKTYPE, dev=(7, 0))]),
        # The attacks the applier must refuse, each one step from something that works.
        "escape_dotdot": (0, [F("../escaped")]),
        "escape_dotdot_inner": (0, [D("a"), F("a/../../escaped")]),
        "escape_absolute": (0, [F("/tmp/escaped")]),
        "escape_symlink_abs": (0, [L("up", "/"), F("up/tmp/escaped")]),
        "escape_symlink_rel": (0, [L("up", ".."), F("up/escaped")]),
        "escape_symlink_chain": (0, [D("a"), L("a/b", "../.."), F("a/b/escaped")]),
        "escape_symlink_dir_then_file": (4, [L("etc", "/etc"), F("etc/passwd", b"pwned\n")]),
        "escape_hardlink_out": (0, [H("shadow", "../../etc/shadow")]),
        "escape_hardlink_abs": (0, [H("shadow", "/etc/shadow")]),
        "escape_hardlink_via_symlink": (0, [L("s", "/etc"), H("h", "s/shadow")]),
        "escape_whiteout_dotdot": (0, [F(".wh.."), F("a/.wh...")]),
        "escape_dangling_symlink_parent": (0, [L("d", "/nonexistent"), F("d/x")]),
        "gnu_longname": (0, [F("d" * 120 + "/" + "f" * 150)], ),
        "sparse_truncate": (0, [F("big", b"\0" * 10, pax={"size": "10"})]),
        "mtimes": (0, [D("d", mtime=0), F("d/f", mtime=2**33), D("e", mtime=1)]),
    }
    for name, (opts, entries) in layers.items():
        fmt = tarfile.GNU_FORMAT if name == "gnu_longname" else tarfile.PAX_FORMAT
        write("apply", name, bytes([opts]) + tar(entries, fmt))
    plain = tar(base)
    write("apply", "gzip", bytes([0]) + gzip.compress(plain, mtime=0))
    try:
        z = subprocess.run(["zstd", "-q", "-c"], input=plain, capture_output=True, check=True)
        write("apply", "zstd", bytes([0]) + z.stdout)
    except (OSError, subprocess.CalledProcessError):
        print("make_seeds: zstd not found; no zstd seed", file=sys.stderr)
    write("apply", "ustar", bytes([0]) + tar(base, tarfile.USTAR_FORMAT))
    write("apply", "empty_tar", bytes([0]) + b"\0" * 1024)


# --- dockerfile ---------------------------------------------------------------------------------

DOCKERFILES = {
    "scratch": "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nCMD [\"sh\"]\n",
    "multistage": """# syntax=docker/dockerfile:1
ARG BASE=busybox
ARG TAG=latest
FROM ${BASE}:${TAG} AS build
ARG VERSION=1.0
ENV A=1 B="two words" C=${VERSION:-none}
WORKDIR /src
COPY --chown=1000:1000 --chmod=0755 . .
RUN echo $A > /out && \\
    echo "${B:+set}" >> /out
FROM build AS test
RUN --network=none true
FROM scratch
COPY --from=build /out /out
COPY --from=0 /src /src
LABEL a=b "c d"=e
EXPOSE 80/tcp 443 $PORTS
VOLUME ["/data", "/logs"]
USER nobody:nogroup
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s --timeout=3s CMD ["true"]
ENTRYPOINT ["/bin/sh", "-c"]
CMD echo hi
""",
    "escape_directive": "# escape=`\nFROM scratch\nRUN echo a `\n    b\nCOPY [\"a b\", \"c`\"d\"]\n",
    "continuations": "FROM scratch\nRUN a \\\n\n# comment inside\n  b \\\n   \nENV X=1\\\n2\n",
    "onbuild": "FROM scratch\nONBUILD RUN echo triggered\nONBUILD COPY . /app\nSHELL [\"/bin/bash\", \"-c\"]\nMAINTAINER me\n",
    "add": "FROM scratch\nADD --chown=0:0 archive.tar.gz /\nADD https://example.invalid/x /x\nADD [\"a\", \"b\", \"/dst/\"]\n",
    "vars": "ARG A\nFROM scratch\nARG B=${A:?must be set}\nENV C=${B-x} D=${B:-y} E=${B+z} F='$B' G=\"$B\" H=\\$B\nWORKDIR $C/${D}\n",
    "errors": "RUN before from\nFROM\nFORM scratch\nCOPY --from=missing /a /b\nENV\nHEALTHCHECK NONE extra\n",
    "json_bad": "FROM scratch\nCMD [\"unterminated\nRUN [1, 2]\nENTRYPOINT [\"a\",]\n",
    "crlf": "FROM scratch\r\nRUN echo a \\\r\n b\r\n",
}


# --- runtime_spec -------------------------------------------------------------------------------

def runtime_seeds():
    spec = {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "consoleSize": {"height": 24, "width": 80},
            "user": {"uid": 1000, "gid": 1000, "umask": 18, "additionalGids": [5, 6]},
            "args": ["sh", "-c", "true"],
            "env": ["PATH=/bin", "A=b"],
            "cwd": "/tmp",
            "capabilities": {k: ["CAP_CHOWN", "CAP_KILL"] for k in
                             ("bounding", "effective", "inheritable", "permitted", "ambient")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
            "oomScoreAdj": 100,
            "apparmorProfile": "",
            "scheduler": {"policy": "SCHED_OTHER", "nice": 5},
            "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 4},
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "box",
        "domainname": "example",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/data", "type": "bind", "source": "/srv", "options": ["rbind", "ro"]},
            {"destination": "/idmapped", "type": "bind", "source": "/srv",
             "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]},
        ],
        "hooks": {
            "prestart": [{"path": "/bin/true", "args": ["true"], "env": ["A=1"], "timeout": 5}],
            "createRuntime": [{"path": "/bin/true"}],
            "poststop": [{"path": "/bin/true"}],
        },
        "annotations": {"a": "b"},
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount", "cgroup")]
            + [{"type": "user"}, {"type": "network", "path": "/proc/1/ns/net"}],
            "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
            "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
            "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
                         "fileMode": 438, "uid": 0, "gid": 0}],
            "cgroupsPath": "/berth/default/abc",
            "resources": {
                "devices": [{"allow": False, "access": "rwm"},
                            {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rw"}],
                "memory": {"limit": 536870912, "reservation": 1, "swap": -1,
                           "disableOOMKiller": False},
                "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0-1",
                        "mems": "0"},
                "pids": {"limit": 100},
                "blockIO": {"weight": 500, "throttleReadBpsDevice": [
                    {"major": 8, "minor": 0, "rate": 1048576}]},
                "hugepageLimits": [{"pageSize": "2MB", "limit": 0}],
                "unified": {"memory.high": "max"},
            },
            "sysctl": {"net.ipv4.ip_forward": "1"},
            "seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
                        "architectures": ["SCMP_ARCH_X86_64"],
                        "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
                                     {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                                      "args": [{"index": 0, "value": 2114060288, "valueTwo": 0,
                                                "op": "SCMP_CMP_MASKED_EQ"}]}]},
            "rootfsPropagation": "private",
            "maskedPaths": ["/proc/kcore"],
            "readonlyPaths": ["/proc/sys"],
            "mountLabel": "",
            "personality": {"domain": "LINUX"},
            "intelRdt": {"closID": "x"},
        },
    }
    write("runtime_spec", "full", json.dumps(spec, indent=1))
    minimal = {"ociVersion": "1.0.2", "process": {"args": ["true"], "cwd": "/"},
               "root": {"path": "rootfs"}}
    write("runtime_spec", "minimal", json.dumps(minimal))
    write("runtime_spec", "process_only", json.dumps(spec["process"]))
    write("runtime_spec", "resources_only", json.dumps(spec["linux"]["resources"]))
    bad = dict(minimal, process={"args": [], "cwd": "relative", "user": {"uid": -1},
                                 "rlimits": [{"type": "RLIMIT_BOGUS", "hard": 1, "soft": 2}]})
    write("runtime_spec", "invalid_fields", json.dumps(bad))
    write("runtime_spec", "deep", "[" * 64 + "]" * 64)
    write("runtime_spec", "numbers", json.dumps(
        {"ociVersion": "1.0.2", "process": {"args": ["x"], "cwd": "/",
                                            "user": {"uid": 4294967296, "gid": 1.5}},
         "root": {"path": "rootfs"},
         "linux": {"resources": {"memory": {"limit": -9223372036854775808},
                                 "cpu": {"quota": 1e300, "period": 18446744073709551615}}}}))


# --- manifest -----------------------------------------------------------------------------------

def manifest_seeds():
    dg = "sha256:" + "a" * 64
    desc = lambda mt, size=1: {"mediaType": mt, "digest": dg, "size": size}
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [dict(desc("application/vnd.oci.image.manifest.v1+json", 500),
                                platform={"os": "linux", "architecture": "amd64"},
                                annotations={"io.containerd.image.name": "docker.io/library/a:b",
                                             "org.opencontainers.image.ref.name": "b"}),
                           dict(desc("application/vnd.oci.image.manifest.v1+json", 500),
                                platform={"os": "linux", "architecture": "arm64",
                                          "variant": "v8"})]}
    write("manifest", "oci_index", json.dumps(index))
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": desc("application/vnd.oci.image.config.v1+json", 100),
                "layers": [desc("application/vnd.oci.image.layer.v1.tar+gzip", 1000),
                           desc("application/vnd.oci.image.layer.v1.tar+zstd", 1000),
                           desc("application/vnd.oci.image.layer.v1.tar", 0)]}
    write("manifest", "oci_manifest", json.dumps(manifest))
    docker_list = dict(index, mediaType="application/vnd.docker.distribution.manifest.list.v2+json")
    write("manifest", "docker_list", json.dumps(docker_list))
    docker = {"schemaVersion": 2,
              "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
              "config": desc("application/vnd.docker.container.image.v1+json", 100),
              "layers": [desc("application/vnd.docker.image.rootfs.diff.tar.gzip", 1000)]}
    write("manifest", "docker_manifest", json.dumps(docker))
    write("manifest", "docker_archive", json.dumps(
        [{"Config": "blobs/sha256/" + "a" * 64, "RepoTags": ["busybox:latest"],
          "Layers": ["blobs/sha256/" + "b" * 64, "../../etc/passwd"]}]))
    bad = dict(manifest, config={"mediaType": "x", "digest": "sha256:zz", "size": -1},
               layers=[{"digest": "md5:00", "size": 9223372036854775807}])
    write("manifest", "bad_descriptors", json.dumps(bad))
    write("manifest", "gzip_magic", b"\x1f\x8b\x08\x00")
    write("manifest", "zstd_magic", b"\x28\xb5\x2f\xfd")


# --- shim: packets of 2-byte length + a serialized berth.shim.v1.Request ----------------------

SHIM_REQUESTS = {
    "connect": ["id: 1 connect { protocol_version: PROTOCOL_VERSION_1 }",
                "id: 2 connect { protocol_version: 7 }"],
    "exec_lifecycle": [
        'id: 1 exec { exec_id: "e1" process: "{\\"args\\":[\\"true\\"],\\"cwd\\":\\"/\\"}" '
        'stdio { stdin_open: true } }',
        'id: 2 state { exec_id: "e1" }',
        'id: 3 attach { exec_id: "e1" stdin: true stdout: true stderr: true }',
        'id: 4 resize_pty { exec_id: "e1" width: 80 height: 24 }',
        'id: 5 close_io { exec_id: "e1" stdin: true }',
        'id: 6 kill { exec_id: "e1" signal: 9 }',
        'id: 7 wait { exec_id: "e1" }',
        'id: 8 delete { exec_id: "e1" }',
        'id: 9 state { }',
        'id: 10 shutdown { now: true }',
    ],
    "exec_terminal": [
        'id: 1 exec { exec_id: "t" process: "{}" terminal: true }',
        'id: 2 resize_pty { exec_id: "t" width: 70000 height: 1 }',
        'id: 3 attach { exec_id: "t" stdout: true stderr: true }',
    ],
    "exec_bad_ids": [
        'id: 1 exec { exec_id: "../x" process: "{}" }',
        'id: 2 exec { exec_id: "" process: "{}" }',
        'id: 3 exec { exec_id: "' + "a" * 200 + '" process: "{}" }',
        'id: 4 exec { exec_id: "a" process: "not json" }',
        'id: 5 exec { exec_id: "a" process: "[1]" }',
        'id: 6 exec { exec_id: "a" process: "{}" }',
        'id: 7 exec { exec_id: "a" process: "{}" }',
    ],
    "runtime_requests": [
        'id: 1 create { id: "fuzz" bundle: "/nonexistent" stdio { log_path: "/dev/null" } '
        'ports { protocol: "tcp" host_port: 1 container_port: 2 } }',
        'id: 2 start { }', 'id: 3 pause { }', 'id: 4 resume { }', 'id: 5 pids { }',
        'id: 6 stats { }', 'id: 7 update { resources: "{}" }', 'id: 8 kill { signal: 15 all: true }',
    ],
    "empty": ["id: 1"],
}


def shim_seeds():
    proto = os.path.join(ROOT, "proto")
    for name, texts in SHIM_REQUESTS.items():
        out = b""
        for text in texts:
            r = subprocess.run(["protoc", "-I" + proto, "--encode=berth.shim.v1.Request",
                                os.path.join(proto, "berth/shim/v1/shim.proto")],
                               input=text.encode(), capture_output=True, check=True)
            out += struct.pack("<H", len(r.stdout)) + r.stdout
        write("shim", name, out)


# --- dictionaries -------------------------------------------------------------------------------

SPEC_WORDS = """ociVersion process terminal consoleSize height width user uid gid umask additionalGids
username args commandLine env cwd capabilities bounding effective inheritable permitted ambient
rlimits type hard soft noNewPrivileges apparmorProfile oomScoreAdj selinuxLabel scheduler policy
nice priority flags runtime deadline period ioPriority class root path readonly hostname
domainname mounts destination source options uidMappings gidMappings containerID hostID size
hooks prestart createRuntime createContainer startContainer poststart poststop timeout
annotations linux namespaces devices major minor fileMode cgroupsPath resources allow access
memory limit reservation swap kernel kernelTCP swappiness disableOOMKiller useHierarchy
checkBeforeUpdate cpu shares quota burst realtimeRuntime realtimePeriod cpus mems idle pids
blockIO weight leafWeight weightDevice throttleReadBpsDevice throttleWriteBpsDevice
throttleReadIOPSDevice throttleWriteIOPSDevice rate hugepageLimits pageSize network classID
priorities rdma unified sysctl seccomp defaultAction defaultErrnoRet architectures listenerPath
listenerMetadata syscalls names action errnoRet index value valueTwo op rootfsPropagation
maskedPaths readonlyPaths mountLabel personality domain intelRdt timeOffsets RLIMIT_NOFILE
RLIMIT_NPROC RLIMIT_CORE CAP_SYS_ADMIN CAP_CHOWN SCMP_ACT_ALLOW SCMP_ACT_ERRNO SCMP_CMP_MASKED_EQ
SCMP_ARCH_X86_64 pid ipc uts mount cgroup time bind rbind ro rw nosuid nodev noexec private
rprivate shared slave SCHED_FIFO SCHED_DEADLINE IOPRIO_CLASS_RT c b u p true false null { } [ ]
: , -1 4294967296 1e400 /.. ../""".split() + ['""', "\\u0000"]

OCI_WORDS = """schemaVersion mediaType manifests config layers digest size annotations platform os
architecture variant os.version os.features urls artifactType subject Config RepoTags Layers
sha256: sha512: application/vnd.oci.image.index.v1+json application/vnd.oci.image.manifest.v1+json
application/vnd.oci.image.config.v1+json application/vnd.oci.image.layer.v1.tar
application/vnd.oci.image.layer.v1.tar+gzip application/vnd.oci.image.layer.v1.tar+zstd
application/vnd.docker.distribution.manifest.list.v2+json
application/vnd.docker.distribution.manifest.v2+json
application/vnd.docker.container.image.v1+json
application/vnd.docker.image.rootfs.diff.tar.gzip io.containerd.image.name
org.opencontainers.image.ref.name linux amd64 arm64 v8 { } [ ] -1 9223372036854775807""".split() + [
    "sha256:" + "0" * 64]

DOCKERFILE_WORDS = """FROM AS RUN CMD ENTRYPOINT COPY ADD ENV ARG LABEL EXPOSE VOLUME USER WORKDIR SHELL
ONBUILD STOPSIGNAL HEALTHCHECK MAINTAINER NONE --from= --chown= --chmod= --link --interval=
--timeout= --start-period= --retries= --network= --mount= --platform= #syntax= #escape= ${ :- :+
:? $ ` [" "] scratch && ' \"""".split() + ["\\\n", "\r\n", "\n", '"']


def write_dict(target, words):
    os.makedirs(os.path.join(HERE, "dict"), exist_ok=True)
    with open(os.path.join(HERE, "dict", target + ".dict"), "w") as f:
        f.write("# libFuzzer dictionary for fuzz/%s_fuzzer.cc (written by make_seeds.py)\n" % target)
        for w in sorted(set(words)):
            esc = "".join(c if 32 <= ord(c) < 127 and c not in '\\"' else "\\x%02x" % ord(c)
                          for c in w)
            f.write('"%s"\n' % esc)


def main():
    apply_seeds()
    for name, text in DOCKERFILES.items():
        write("dockerfile", name, text)
    runtime_seeds()
    manifest_seeds()
    shim_seeds()
    write_dict("runtime_spec", SPEC_WORDS)
    write_dict("manifest", OCI_WORDS)
    write_dict("dockerfile", DOCKERFILE_WORDS)


if __name__ == "__main__":
    main()
