"""The markdown table of a results JSON, and its plots (plot.py, run by Debian's python3, which
has python3-matplotlib)."""
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))

NAMES = {"containerd": "containerd (ctr)", "berth": "berth"}


def name(fig, contender):
    if fig["id"] in ("engine_start", "throughput", "start_rate", "remove_rate", "unpack",
                     "memory_per_container") and contender == "containerd":
        return "ctr / containerd"
    return contender


def num(v):
    if v is None:
        return "–"
    a = abs(v)
    return "%.0f" % v if a >= 100 else "%.1f" % v if a >= 10 else "%.2f" % v if a >= 1 else \
        "%.3f" % v


def plots(json_path, base):
    """Writes BASE-*.png; returns their paths (none if matplotlib is missing)."""
    r = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "plot.py"), json_path, base],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print("bench: plots failed: " + r.stderr[-2000:])
        return []
    return [l for l in r.stdout.split() if l.endswith(".png")]


def target_row(fig):
    t = fig["target"]
    s = fig["contenders"].get(fig["subject"], {})
    if t["kind"] == "abs_max":
        measured = "%s %s" % (num(s.get("median")), fig["unit"])
        peers = ", ".join("%s %s" % (c, num(v["median"])) for c, v in fig["contenders"].items()
                          if c != fig["subject"] and v.get("n"))
        peer = peers + (" " + fig["unit"] if peers else "")
    else:
        r = fig["ratios"].get(t["peer"], {})
        p = fig["contenders"].get(t["peer"], {})
        measured = "%s× (%s %s vs %s %s)" % (num(r.get("median")), num(s.get("median")),
                                            fig["unit"], num(p.get("median")), fig["unit"])
        peer = "%s: %s %s" % (name(fig, t["peer"]), num(p.get("median")), fig["unit"])
        if fig["id"] == "unpack" and r.get("median"):
            measured += "; %.2f× faster" % (1 / r["median"])
    met = {True: "**met**", False: "**not met**", None: "not measured"}[t.get("met")]
    return "| %s | %s | %s | %s | %s |" % (fig["title"], t["text"], peer, measured, met)


def markdown(res, pngs):
    m = res["machine"]
    out = ["# berth benchmarks, %s (%s run)" % (res["date"], res["mode"]), ""]
    out.append("Machine: %s, %s cores, %s GB, %s, kernel %s. Load average before: %s; after: "
               "%s (the machine is shared: absolute numbers are noisy, ratios from the same "
               "round less so)." % (m.get("cpu"), m.get("cores"), m.get("memory_gb"),
                                    m.get("os"), m.get("kernel"), res["load_before"],
                                    res["load_after"]))
    out.append("")
    out.append("Versions: " + "; ".join("%s %s" % kv for kv in res["versions"].items()) + ".")
    bins = res.get("berth_binaries")
    if bins:
        out.append("")
        out.append("berth binaries: %s, built %s.%s" % (
            bins["source"], ", ".join(sorted(set(bins["built"].values()))),
            (" " + bins["note"] + ".") if bins.get("note") else ""))
    st = res["settings"]
    out.append("")
    out.append("Rounds: runtime %d, engine %d, containers %d, unpack %d; %d containers per "
               "throughput batch, memory with %d. Run time %.0f s (%s; bazel build %.0f s)." % (
                   st["runtime_rounds"], st["engine_rounds"], st["container_rounds"],
                   st["unpack_rounds"], st["throughput_containers"], st["mem_containers"],
                   res["total_seconds"], ", ".join("%s %.0f s" % kv
                                                   for kv in res["suite_seconds"].items()),
                   res.get("bazel_build_seconds", 0)))
    targets = [f for f in res["figures"] if f.get("target")]
    if targets:
        out += ["", "## Targets (DESIGN.md)", "",
                "| what | target | peer, measured here | berth | |", "|---|---|---|---|---|"]
        out += [target_row(f) for f in targets]
    out += ["", "## Figures", "",
            "Median, spread as min–max [interquartile range], n rounds; the ratio is berth's "
            "value over the contender's from the same round (median of the per-round ratios, "
            "min–max). Lower is better except for containers/s.", "",
            "| figure | contender | median | min–max [IQR] | n | berth ÷ contender |",
            "|---|---|---|---|---|---|"]
    for f in res["figures"]:
        first = True
        for c, s in f["contenders"].items():
            if not s.get("n"):
                continue
            ratio = ""
            if c in f["ratios"]:
                r = f["ratios"][c]
                ratio = "%s (%s–%s)" % (num(r["median"]), num(r["min"]), num(r["max"]))
            elif c == f["subject"]:
                ratio = "—"
            label = "%s (%s)" % (f["title"], f["unit"]) if first else ""
            first = False
            out.append("| %s | %s | %s | %s–%s [%s–%s] | %d | %s |" % (
                label, ("**%s**" % c) if c == f["subject"] else name(f, c), num(s["median"]),
                num(s["min"]), num(s["max"]), num(s["q1"]), num(s["q3"]), s["n"], ratio))
        for c, e in f["errors"].items():
            out.append("| %s | %s | did not run | | | |" % (
                ("%s (%s)" % (f["title"], f["unit"])) if first else "", name(f, c)))
            first = False
    notes = [(f["title"], f["note"]) for f in res["figures"] if f.get("note")]
    if notes:
        out += ["", "Notes:", ""] + ["- %s: %s" % n for n in notes]
    errors = {}
    for f in res["figures"]:
        errors.update(f["errors"])
    if errors or res.get("suite_errors") or res.get("missing_packages"):
        out += ["", "## What did not run", ""]
        for c, e in errors.items():
            out.append("- %s: `%s`" % (c, " ".join(e.split())[:600]))
        for s, e in res.get("suite_errors", {}).items():
            out.append("- suite %s failed: `%s`" % (s, " ".join(e.split())[:600]))
        if res.get("missing_packages"):
            out.append("- not installed: " + ", ".join(res["missing_packages"]))
    build = res.get("meta", {}).get("build")
    if build:
        out += ["", "## Build", ""]
        if isinstance(build, str):
            out.append(build)
        else:
            out.append("`%s` exited %d; its output:" % (build["script"], build["exit"]))
            out += ["", "```", build["output"].rstrip(), "```"]
    if pngs:
        out += ["", "## Plots", ""] + ["![%s](%s)" % (p, p) for p in pngs]
    return "\n".join(out) + "\n"
