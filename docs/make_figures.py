"""Draw the README and user-guide figures into docs/figures/.

    python docs/make_figures.py [OUT_DIR]

Writes ``demo_beat.png`` (a typical beat of the example record with its P/Q/R/S/T
components, boundaries and residual: ``gmesa.plot.beat``) and ``demo_record.png`` (a 10 s
strip on ECG paper: ``gmesa.plot.record``), both of the synthetic example record shipped
with gmesa (``gmesa.datasets.example_record()``), as palette PNGs small enough to commit
(below ``MAX_KB``).  The theory figure ``construction.png`` comes from
``examples/theory_figure.py``.
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

from gmesa import datasets, ecg, plot

OUT = Path(__file__).resolve().parent / "figures"
MAX_KB = 120


def save_small(fig, path, dpi, max_kb=MAX_KB):
    """Save as a palette PNG (256 colours) when that is smaller; check the size."""
    from PIL import Image      # Pillow comes with matplotlib

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plot.close(fig)
    data = buf.getvalue()
    img = Image.open(io.BytesIO(data)).convert("RGB").quantize(
        colors=256, method=Image.Quantize.FASTOCTREE)
    small = io.BytesIO()
    img.save(small, format="PNG", optimize=True)
    if len(small.getvalue()) < len(data):
        data = small.getvalue()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if len(data) > max_kb * 1024:
        raise ValueError(f"{path}: {len(data) / 1024:.0f} kB is above {max_kb} kB")
    return path


def main(out_dir=OUT):
    """Fit the example record and write the two figures into ``out_dir``; return the paths."""
    out_dir = Path(out_dir)
    fit = ecg.fit_record(ecg.read_record(datasets.example_record()))
    figures = {"demo_beat.png": (plot.beat(fit, plot.typical_beat(fit)).figure, 120),
               "demo_record.png": (plot.record(fit, duration=10, grid=True).figure, 130)}
    paths = [save_small(fig, out_dir / name, dpi) for name, (fig, dpi) in figures.items()]
    for p in paths:
        print(f"wrote {p} ({p.stat().st_size / 1024:.0f} kB)")
    return paths


if __name__ == "__main__":
    main(*sys.argv[1:2])
