"""Draw the theory figure (how the GMF is built from two ReLUs) into docs/figures/construction.png.

Usage: python examples/theory_figure.py [OUTPUT.png]
"""
from __future__ import annotations

import sys
from pathlib import Path

from gmesa import plot

DEFAULT = Path(__file__).resolve().parents[1] / "docs" / "figures" / "construction.png"


def main(out=DEFAULT):
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig = plot.construction()
    fig.savefig(out, dpi=110)
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} kB)")
    return out


if __name__ == "__main__":
    main(*sys.argv[1:2])
