#!/usr/bin/python3
"""Plots a results JSON: BASE-time.png, BASE-throughput.png, BASE-memory.png, BASE-targets.png.

Usage: /usr/bin/python3 plot.py RESULTS.json BASE     (Debian's python3-matplotlib)
Prints the paths it wrote. Bars are medians, whiskers min–max, dots the single rounds; berth's
bar is the dark one.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

GROUPS = {
    "time": ["runtime_start", "engine_start", "unpack"],
    "throughput": ["throughput", "start_rate", "remove_rate"],
    "memory": ["daemon_idle", "daemon_loaded", "shim_rss", "shim_pss", "memory_per_container"],
}
BERTH, PEER = "#1f4e79", "#b0b7bf"


def short(name):
    return {"containerd": "ctr/containerd", "containerd-shim-runc-v2": "containerd-shim\n(ctr)",
            "containerd-shim-runc-v2 (docker)": "containerd-shim\n(docker)",
            "docker's containerd": "docker's\ncontainerd"}.get(name, name)


def panel(ax, fig):
    names = [c for c, s in fig["contenders"].items() if s.get("n")]
    meds = [fig["contenders"][c]["median"] for c in names]
    lo = [m - fig["contenders"][c]["min"] for c, m in zip(names, meds)]
    hi = [fig["contenders"][c]["max"] - m for c, m in zip(names, meds)]
    colors = [BERTH if c == fig["subject"] else PEER for c in names]
    x = range(len(names))
    ax.bar(x, meds, color=colors, yerr=[lo, hi], capsize=4, ecolor="#444")
    for i, c in enumerate(names):
        runs = fig["contenders"][c]["runs"]
        ax.scatter([i] * len(runs), runs, s=6, color="#d62728", zorder=3)
    for i, m in enumerate(meds):
        ax.annotate("%.3g" % m, (i, m), textcoords="offset points", xytext=(8, 2), fontsize=7)
    t = fig.get("target")
    if t and t["kind"] == "abs_max":
        ax.axhline(t["value"], color="#2ca02c", linestyle="--", linewidth=1)
        ax.annotate("target " + t["text"], (len(names) - 0.5, t["value"]), fontsize=7,
                    color="#2ca02c", ha="right", va="bottom")
    ax.set_xticks(list(x))
    ax.set_xticklabels([short(c) for c in names], fontsize=7)
    title = fig["title"]
    if len(title) > 48:
        cut = title.rfind(" ", 0, 48)
        title = title[:cut] + "\n" + title[cut + 1:]
    ax.set_title(title, fontsize=8)
    ax.set_ylabel(fig["unit"], fontsize=8)
    ax.tick_params(axis="y", labelsize=7)


def group_plot(figs, path):
    n = len(figs)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    f, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    for ax, fig in zip([a for r in axes for a in r], figs):
        panel(ax, fig)
    for ax in [a for r in axes for a in r][n:]:
        ax.axis("off")
    f.tight_layout()
    f.savefig(path, dpi=110)
    plt.close(f)


def targets_plot(figs, path):
    rows = []
    for fig in figs:
        t = fig.get("target")
        if not t:
            continue
        if t["kind"] == "abs_max":
            s = fig["contenders"].get(fig["subject"], {})
            if s.get("n"):
                rows.append(("%s\n%s" % (fig["id"], t["text"]), s["median"] / t["value"],
                             s["min"] / t["value"], s["max"] / t["value"]))
        else:
            r = fig["ratios"].get(t["peer"], {})
            if r.get("n"):
                rows.append(("%s\n%s" % (fig["id"], t["text"]), r["median"] / t["value"],
                             r["min"] / t["value"], r["max"] / t["value"]))
    if not rows:
        return False
    f, ax = plt.subplots(figsize=(7.5, 0.75 * len(rows) + 1.2))
    y = range(len(rows))
    meds = [r[1] for r in rows]
    ax.barh(list(y), meds, xerr=[[m - r[2] for m, r in zip(meds, rows)],
                                 [r[3] - m for m, r in zip(meds, rows)]],
            color=["#2ca02c" if m <= 1 else "#d62728" for m in meds], capsize=4)
    ax.axvline(1.0, color="black", linestyle="--", linewidth=1)
    for i, m in enumerate(meds):
        ax.annotate("%.2f" % m, (m, i), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_yticks(list(y))
    ax.set_yticklabels([r[0] for r in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("berth's measure ÷ its target (≤ 1 is met)", fontsize=8)
    ax.set_title("DESIGN.md targets", fontsize=9)
    f.tight_layout()
    f.savefig(path, dpi=110)
    plt.close(f)
    return True


def main():
    res = json.load(open(sys.argv[1]))
    base = sys.argv[2]
    by_id = {f["id"]: f for f in res["figures"]}
    known = {i for ids in GROUPS.values() for i in ids}
    groups = dict(GROUPS)
    groups["time"] = groups["time"] + [f["id"] for f in res["figures"] if f["id"] not in known]
    for name, ids in groups.items():
        figs = [by_id[i] for i in ids if i in by_id and any(
            s.get("n") for s in by_id[i]["contenders"].values())]
        if figs:
            path = "%s-%s.png" % (base, name)
            group_plot(figs, path)
            print(path)
    if targets_plot(res["figures"], base + "-targets.png"):
        print(base + "-targets.png")


if __name__ == "__main__":
    main()
