"""A figure: one quantity measured for several contenders over the same rounds.

Round i of every contender ran side by side (alternating), so the ratio berth/peer is taken
per round and then summarized: drift on the shared machine hits both sides of a ratio alike.
"""
import util


def figure(fid, title, unit, runs, subject, better="lower", errors=None, target=None,
           note=None):
    """runs: {contender: [value per round]}; subject: berth's contender name.

    target: {"kind": "ratio_max", "peer": NAME, "value": X}  berth/peer median ≤ X
            {"kind": "abs_max", "value": X}                  berth's median ≤ X (in `unit`)
    plus "text", the target as DESIGN.md words it.
    """
    fig = {"id": fid, "title": title, "unit": unit, "better": better, "subject": subject,
           "contenders": {}, "ratios": {}, "errors": dict(errors or {}), "note": note}
    for name, values in runs.items():
        fig["contenders"][name] = util.summarize(values)
    if subject in runs:
        for name, values in runs.items():
            if name == subject or not values or not runs[subject]:
                continue
            paired = util.paired_ratios(runs[subject], values)
            s = util.summarize(paired)
            s["of_medians"] = (fig["contenders"][subject]["median"] /
                               fig["contenders"][name]["median"])
            fig["ratios"][name] = s
    if target:
        fig["target"] = dict(target)
        fig["target"]["met"] = target_met(fig, target)
    return fig


def target_met(fig, target):
    if target["kind"] == "ratio_max":
        r = fig["ratios"].get(target["peer"])
        return None if r is None or not r.get("n") else r["median"] <= target["value"]
    if target["kind"] == "ratio_min":
        r = fig["ratios"].get(target["peer"])
        return None if r is None or not r.get("n") else r["median"] >= target["value"]
    if target["kind"] == "abs_max":
        s = fig["contenders"].get(fig["subject"])
        return None if not s or not s.get("n") else s["median"] <= target["value"]
    raise ValueError(target["kind"])
