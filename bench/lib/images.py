"""The images the benchmarks use, made on this host (no registry is reachable).

- busybox: e2e/fixtures/make_oci_image.py's one-layer OCI archive of Debian's busybox-static,
  loaded by berth and imported by ctr; docker (20.10, which loads only docker-archive tars)
  imports the same layer as a rootfs tarball.
- a big multi-layer image for load+unpack: bench/lib/big_image.py.
"""
import json
import os
import subprocess
import sys
import tarfile

import util

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


class Busybox:
    def __init__(self, tmp):
        self.oci = os.path.join(tmp, "bb.tar")
        self.layer = os.path.join(tmp, "bb-layer.tar")
        util.run([sys.executable, os.path.join(REPO, "e2e/fixtures/make_oci_image.py"), self.oci,
                  "docker.io/library/bb:latest"])
        with tarfile.open(self.oci) as t:
            index = json.load(t.extractfile("index.json"))
            manifest = json.load(t.extractfile(
                "blobs/sha256/" + index["manifests"][0]["digest"][7:]))
            member = t.extractfile("blobs/sha256/" + manifest["layers"][0]["digest"][7:])
            with open(self.layer, "wb") as out:
                out.write(member.read())


def big_image(path, layers=None):
    """Writes the multi-layer image; returns its description (layers, sizes)."""
    args = [sys.executable, os.path.join(HERE, "big_image.py"), path]
    if layers:
        args += layers
    r = util.run(args, timeout=1800)
    return json.loads(r.stdout)
