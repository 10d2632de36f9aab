#!/usr/bin/env python3
"""Writes an OCI image archive of several gzip layers made of this host's Debian files.

Usage: big_image.py OUTPUT.tar [DIR...]

Each DIR (relative to /, default: the five below) becomes one layer; they must add up to at
least 200 MB uncompressed. The image is named docker.io/library/bench-unpack:latest. Prints a
JSON description (layers, uncompressed and gzip bytes) on stdout.
"""
import concurrent.futures
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import time

DEFAULT = ["usr/share/locale", "usr/share/man", "usr/lib/python3.11", "usr/share/vim",
           "usr/share/icons"]


def file_digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def main():
    out, dirs = sys.argv[1], sys.argv[2:] or DEFAULT
    dirs = [d for d in dirs if os.path.isdir("/" + d)]
    work = os.path.dirname(os.path.abspath(out))

    def make(i, d):
        raw = os.path.join(work, "layer%d.tar" % i)
        subprocess.run(["tar", "-C", "/", "--numeric-owner", "-cf", raw, d], check=True)
        digest, size = file_digest(raw), os.path.getsize(raw)
        subprocess.run(["gzip", "-6", "-n", "-f", raw], check=True)
        return digest, size, raw + ".gz"

    with concurrent.futures.ThreadPoolExecutor(os.cpu_count()) as ex:
        layers = list(ex.map(lambda a: make(*a), enumerate(dirs)))
    total = sum(l[1] for l in layers)
    gz = sum(os.path.getsize(l[2]) for l in layers)
    if total < 200e6:
        for l in layers:
            os.unlink(l[2])
        sys.exit("big_image: %.0f MB from %s is under 200 MB; name bigger directories" %
                 (total / 1e6, " ".join(dirs)))

    small = {}

    def blob(data):
        d = hashlib.sha256(data).hexdigest()
        small[d] = data
        return "sha256:" + d, len(data)

    config = {"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
              "rootfs": {"type": "layers", "diff_ids": [l[0] for l in layers]}}
    cd, cs = blob(json.dumps(config).encode())
    descs = [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
              "digest": file_digest(l[2]), "size": os.path.getsize(l[2])} for l in layers]
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": cd, "size": cs}, "layers": descs}
    md, ms = blob(json.dumps(manifest).encode())
    index = {"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms,
        "annotations": {"io.containerd.image.name": "docker.io/library/bench-unpack:latest",
                        "org.opencontainers.image.ref.name": "latest"},
        "platform": {"architecture": "amd64", "os": "linux"}}]}

    def add(t, name, data):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))

    with tarfile.open(out, "w") as t:
        add(t, "oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
        add(t, "index.json", json.dumps(index).encode())
        for d, data in small.items():
            add(t, "blobs/sha256/" + d, data)
        for desc, l in zip(descs, layers):
            t.add(l[2], "blobs/sha256/" + desc["digest"][7:])
            os.unlink(l[2])
    json.dump({"layers": dirs, "uncompressed_bytes": total, "gzip_bytes": gz,
               "archive_bytes": os.path.getsize(out)}, sys.stdout)
    print("big_image: %d layers, %.0f MB uncompressed, %.0f MB gzip" %
          (len(layers), total / 1e6, gz / 1e6), file=sys.stderr)


if __name__ == "__main__":
    main()
