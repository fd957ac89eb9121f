#!/usr/bin/env python3
"""Draws the speed-up chart of benches/vs_torch_autograd.py's JSON output: one horizontal bar
per workload (torch time / lossfn.torch time, log scale), grouped and coloured by family.

    python3 -m pip install matplotlib
    python3 benches/vs_torch_autograd.py --json docs/benchmarks.json
    python3 benches/plot_chart.py docs/benchmarks.json -o docs/benchmarks.png [--table]

--table also prints the results as the Markdown table of BENCHMARKS.md.
"""
import argparse
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

COLOURS = {"regression": "#4c72b0", "boxes": "#dd8452", "classification": "#55a868", "overlap": "#c44e52"}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json", nargs="?", default="docs/benchmarks.json")
    ap.add_argument("-o", "--output", default="docs/benchmarks.png")
    ap.add_argument("--table", action="store_true", help="also print the results as a Markdown table")
    args = ap.parse_args()
    with open(args.json) as f:
        data = json.load(f)
    meta, rows = data["meta"], data["results"][::-1]  # first workload on top
    if args.table:
        print("| workload | torch reference | torch ms | lossfn.torch ms | speed-up |")
        print("|---|---|---:|---:|---:|")
        for r in data["results"]:
            print(f"| {r['workload']} | {r['reference']} | {r['torch_ms']:.1f} | {r['lossfn_ms']:.2f} | {r['speedup']:.1f}× |")

    fig, ax = plt.subplots(figsize=(11, 0.34 * len(rows) + 1.8), dpi=110)
    y = range(len(rows))
    bars = ax.barh(y, [r["speedup"] for r in rows], color=[COLOURS.get(r["family"], "grey") for r in rows])
    ax.set_yticks(list(y), [r["workload"] for r in rows], fontsize=8.5)
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
    top = max(r["speedup"] for r in rows)
    ax.set_xlim(min(0.8, min(r["speedup"] for r in rows) * 0.8), top * 12)
    for bar, r in zip(bars, rows):
        ax.text(bar.get_width() * 1.05, bar.get_y() + bar.get_height() / 2,
                f"{r['speedup']:.1f}×  ({r['torch_ms']:.1f} → {r['lossfn_ms']:.2f} ms, vs {r['reference']})",
                va="center", fontsize=7.5)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in COLOURS.values()]
    ax.legend(handles, list(COLOURS), loc="upper right", fontsize=8, frameon=True)
    ax.set_xlabel("speed-up of forward + backward (torch time / lossfn.torch time, log scale)")
    ax.set_title(f"lossfn.torch vs PyTorch / torchvision / MONAI, forward + backward\n{meta['dtype']}, CPU, "
                 f"{meta['threads']} threads, torch {meta['torch'].split('+')[0]}, {meta['statistic'].split(' of')[0]} "
                 f"of {meta['reps']}", fontsize=10)
    ax.grid(axis="x", which="both", alpha=0.25)
    fig.tight_layout()
    fig.savefig(args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
