"""PNG files of a fit: the standard figures (:func:`write_figures`, what ``gmesa fit
--figures`` and ``gmesa demo`` write) and the redrawing of a saved result without
refitting (:func:`plot_results`, what ``gmesa plot`` draws)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import single_beat
from .single_beat import typical_beat
from .strip import overview, record
from .style import close
from .superimposed import template
from .timeline import trends

#: figure files written by :func:`write_figures`, in this order
FIGURES = ("beat", "record", "template", "trends")

#: resolution of the PNGs (dots per inch); the strip is drawn finer for its 1 mm grid
DPI = {"beat": 130, "record": 150, "template": 130, "trends": 120, "construction": 110,
       "overview": 120}


def save_figure(fig, path, dpi):
    """Write ``fig`` as PNG to ``path`` (folders created), release it and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    close(fig)
    return path


def write_figures(fit, out_dir, stem=None, start=None, grid=True):
    """Draw the standard figures of a fit as PNG into ``out_dir``.

    Writes ``beat.png`` (a typical beat, :func:`gmesa.plot.typical_beat`, with its
    components and residual), ``record.png`` (10 s strip from ``start``, ECG paper grid
    when ``grid``), ``template.png`` (beats superimposed with the median fit) and
    ``trends.png`` (QT, T amplitude and RR over time); with ``stem`` the names are
    ``{stem}.beat.png`` and so on.  A fit without beats writes nothing.  Returns the
    list of paths written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = (lambda k: f"{stem}.{k}.png") if stem else (lambda k: f"{k}.png")
    if len(fit.beats) == 0:
        return []
    figures = {
        "beat": lambda: single_beat.beat(fit, typical_beat(fit)).figure,
        "record": lambda: record(fit, start=start, duration=10, grid=grid).figure,
        "template": lambda: template(fit).figure,
        "trends": lambda: trends(fit),
    }
    return [save_figure(figures[k](), out_dir / name(k), DPI[k]) for k in FIGURES]


def _row_of_beat(fit, number):
    """Row position of the beat numbered ``number`` (the ``beat`` column)."""
    b = fit.beats
    if "beat" in b:
        hits = np.flatnonzero(b["beat"].to_numpy() == int(number))
        if hits.size:
            return int(hits[0])
    n = len(b)
    raise IndexError(f"beat {number} is not in this result (beats "
                     f"{int(b['beat'].min()) if n else 0}..{int(b['beat'].max()) if n else -1})")


def plot_results(results, beat=None, out=None, start=None, duration=10):
    """Redraw a saved result (``RecordFit.save``) without refitting: ``gmesa plot``.

    ``results``: the ``.info.json`` written by ``save`` or a folder holding one result.
    ``beat``: None -> one figure with a record strip (``start``, ``duration`` s) on top
    and a typical beat with its residual below; a beat number (the table's ``beat``
    column) -> that beat with its components, fiducials and residual.
    ``out``: PNG path; default beside the result, ``{stem}.overview.png`` or
    ``{stem}.beat{N}.png`` for ``{stem}.info.json``.  Returns the path written.
    """
    from ..ecg import RecordFit

    path = Path(results)
    fit = RecordFit.load(path)
    info = path if not path.is_dir() else next(iter(sorted(path.glob("*.info.json"))), path)
    stem = info.name[:-len(".info.json")] if info.name.endswith(".info.json") \
        else str(fit.info.get("record", "record"))
    folder = info.parent
    if beat is None:
        fig = overview(fit, start=start, duration=duration)
        default, dpi = folder / f"{stem}.overview.png", DPI["overview"]
    else:
        fig = single_beat.beat(fit, _row_of_beat(fit, beat)).figure
        default, dpi = folder / f"{stem}.beat{int(beat)}.png", DPI["beat"]
    return save_figure(fig, Path(out) if out is not None else default, dpi)

