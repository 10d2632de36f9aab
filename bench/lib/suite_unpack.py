"""image load+unpack of a ≥ 200 MB multi-layer image: `berth load` vs `ctr images import`.

Every run goes into a fresh daemon with an empty root (on the run's tmpfs, so that the disk
of a shared VM does not decide it); the image archive is made once, by big_image.py.
"""
import os
import shutil
import time

import figures
import images
import peers
import util


def _once(ctx, name, rnd, image):
    base = os.path.join(ctx.tmp, "unpack", "%s-%d" % (name, rnd))
    os.makedirs(base)
    d = peers.Berth(base, ctx.bin) if name == "berth" else peers.Containerd(base)
    d.start()
    try:
        t0 = time.perf_counter()
        r = util.run(d.load(image), timeout=900)
        elapsed = time.perf_counter() - t0
        # Both must have unpacked, not merely stored the blobs.
        if name == "berth":
            if "unpacked" not in r.stdout + r.stderr:
                raise RuntimeError("berth load did not unpack: " + r.stdout + r.stderr)
        else:
            snaps = util.run(d.cli("snapshots", "ls")).stdout.splitlines()[1:]
            if not snaps:
                raise RuntimeError("ctr images import did not unpack")
    finally:
        d.stop()
    shutil.rmtree(base)
    return elapsed


def run(ctx):
    path = os.path.join(ctx.tmp, "big.tar")
    util.log("unpack: making the image (this host's files, gzip) ...")
    desc = images.big_image(path, ctx.unpack_layers)
    ctx.meta["unpack_image"] = desc
    runs = {"berth": [], "containerd": []}
    util.log("unpack: %d rounds of load+unpack, %.0f MB (%.0f MB gzip) ..." %
             (ctx.unpack_rounds, desc["uncompressed_bytes"] / 1e6, desc["gzip_bytes"] / 1e6))
    for i in range(ctx.unpack_rounds):
        for name in ctx.rotate(list(runs), i):
            os.sync()
            runs[name].append(_once(ctx, name, i, path))
    os.unlink(path)
    return [figures.figure(
        "unpack", "image load+unpack, %d layers, %.0f MB (%.0f MB gzip)" % (
            len(desc["layers"]), desc["uncompressed_bytes"] / 1e6, desc["gzip_bytes"] / 1e6),
        "s", runs, "berth",
        target={"kind": "ratio_max", "peer": "containerd", "value": 1 / 1.5,
                "text": "≥ 1.5× faster than ctr (≤ 0.67× its time)"},
        note="berth load -i vs ctr images import, each into a fresh daemon; roots on tmpfs")]
