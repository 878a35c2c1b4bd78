"""Draw the shape tables of bench/run.py as one PNG (matplotlib is optional).

One panel per shape: for every test, two horizontal bars, omakase's and
redis-server's median requests/s (and a third, grey, for a ``--peer`` run's
peer), labelled with omakase's median per-round ratio;
tests that were n/a are listed under the panel.  matplotlib is an optional
extra (``pip install matplotlib`` or ``pip install -e '.[plot]'``): without
it ``plot_shapes`` returns None and run.py says so instead of failing.

Usage::

    python bench/plot.py bench/out/shapes.json            # -> bench/out/shapes.png
    python bench/plot.py bench/out/shapes.json -o x.png
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any


def plot_shapes(results: dict[str, Any], path: str) -> str | None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    shapes = results["shapes"]
    heights = [max(2.5, 0.42 * sum(1 for t in sh["tests"].values() if t["status"] is None) + 1.6)
               for sh in shapes.values()]
    fig, axes = plt.subplots(len(shapes), 1, figsize=(10, sum(heights)),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, (key, sh) in zip(axes[:, 0], shapes.items()):
        names = [n for n, t in sh["tests"].items() if t["status"] is None]
        o = [sh["tests"][n]["median"]["omakase"]["rps"] or 0 for n in names]
        r = [sh["tests"][n]["median"]["redis"]["rps"] or 0 for n in names]
        ys = list(range(len(names)))
        peer = results.get("meta", {}).get("peer")
        if peer:
            # a third, thinner bar for the peer (n/a for it: no bar)
            p = [(sh["tests"][n]["median"].get(peer) or {}).get("rps") or 0
                 if sh["tests"][n].get("peer_status") is None else 0 for n in names]
            ax.barh([y - 0.27 for y in ys], o, height=0.27, label="omakase", color="#d9534f")
            ax.barh(ys, r, height=0.27, label="redis-server 7.0", color="#5b7db1")
            ax.barh([y + 0.27 for y in ys], p, height=0.27, label=peer, color="#9e9e9e")
        else:
            p = []
            ax.barh([y - 0.2 for y in ys], o, height=0.4, label="omakase", color="#d9534f")
            ax.barh([y + 0.2 for y in ys], r, height=0.4, label="redis-server 7.0", color="#5b7db1")
        xmax = max(o + r + p + [1])
        xmin = max(1.0, min([v for v in o + r if v > 0] or [1]) / 2)
        for y, n in zip(ys, names):
            ratio = sh["tests"][n]["median"]["ratio"]
            if ratio is not None:
                ax.text(max(o[y], r[y], xmin) * 1.08, y, f"{ratio:.2f}x", va="center", fontsize=8)
        ax.set_yticks(ys)
        ax.set_yticklabels(names, fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale("log")               # LRANGE_600 and PING differ 100x
        ax.set_xlim(xmin, xmax * 2.5)
        ax.set_xlabel("requests/s, log scale (median of rounds); label: median per-round ratio "
                      "omakase/redis", fontsize=8)
        g = sh.get("geomean")
        pg = sh.get("peer_geomean") if peer else None
        ax.set_title(f"shape {key}: {sh['title']} (-c {sh['clients']} -P {sh['pipeline']})"
                     + (f" - geomean ratio {g:.2f}" if g else "")
                     + (f" ({peer}: {pg:.2f})" if pg else ""), fontsize=10)
        ax.legend(fontsize=8, loc="lower right")
        na = [n for n, t in sh["tests"].items() if t["status"] is not None]
        if na:
            ax.annotate("n/a: " + ", ".join(na), xy=(0, 0), xycoords="axes fraction",
                        xytext=(0, -28), textcoords="offset points", fontsize=7, color="gray")
    m = results.get("meta", {})
    fig.suptitle(f"omakase vs redis-server, {m.get('rounds')} rounds, "
                 f"{'pinned' if m.get('pinned') else 'unpinned'}, {m.get('started', '')}", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description="plot bench/run.py's shapes.json")
    ap.add_argument("json")
    ap.add_argument("-o", "--output", default=None)
    args = ap.parse_args()
    with open(args.json) as f:
        results = json.load(f)
    out = args.output or os.path.splitext(args.json)[0] + ".png"
    path = plot_shapes(results, out)
    if path is None:
        print("matplotlib is not installed (pip install matplotlib)", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
