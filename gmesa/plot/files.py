"""PNG files of a fit: the standard figures (:func:`write_figures`, what ``gmesa fit
--figures`` and ``gmesa demo`` write) and the redrawing of a saved result without
refitting (:func:`plot_results`, what ``gmesa plot`` draws)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import single_beat
from .leads_beat import leads_beat
from .single_beat import typical_beat
from .strip import overview, record
from .style import close
from .superimposed import template
from .timeline import trends

#: figure files written by :func:`write_figures`, in this order
FIGURES = ("beat", "record", "template", "trends")

#: figure files written by :func:`write_leads_figures` for several leads, in this order
LEADS_FIGURES = ("leads.beat", "leads.trends")

#: resolution of the PNGs (dots per inch); the strip is drawn finer for its 1 mm grid
DPI = {"beat": 130, "record": 150, "template": 130, "trends": 120, "construction": 110,
       "overview": 120, "leads.beat": 110, "leads.trends": 120}


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
    ``trends.png`` (QT, T height and RR over time); with ``stem`` the names are
    ``{stem}.beat.png`` and so on.  A fit without beats writes nothing.  Returns the
    list of paths written.
    """
    return _write(fit, out_dir, stem, FIGURES, {
        "beat": lambda: single_beat.beat(fit, typical_beat(fit)).figure,
        "record": lambda: record(fit, start=start, duration=10, grid=grid).figure,
        "template": lambda: template(fit).figure,
        "trends": lambda: trends(fit),
    })


def write_leads_figures(fit, out_dir, stem=None):
    """Draw the figures of a several-lead fit (a :class:`gmesa.ecg.LeadsFit`) as PNG into
    ``out_dir``: ``leads.beat.png`` (a typical beat of the primary lead, drawn in every
    lead with the global boundaries, :func:`gmesa.plot.leads_beat`) and
    ``leads.trends.png`` (the combined table's intervals over time, and the spatial QRS-T
    angle where the table has it); with ``stem`` the names are ``{stem}.leads.beat.png``
    and ``{stem}.leads.trends.png``.  A fit without beats writes nothing.  Returns the
    list of paths written."""
    return _write(fit, out_dir, stem, LEADS_FIGURES, {
        "leads.beat": lambda: leads_beat(fit, typical_beat(fit.fits[fit.primary])),
        "leads.trends": lambda: trends(fit),
    })


def _write(fit, out_dir, stem, names, figures):
    """Draw the ``figures`` (name -> a function making the Figure) ``names``, in that
    order, of ``fit`` into ``out_dir`` as ``{stem}.{name}.png`` (``{name}.png`` without
    a stem); nothing for a fit without beats.  Returns the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if len(fit.beats) == 0:
        return []
    return [save_figure(figures[k](), out_dir / (f"{stem}.{k}.png" if stem else f"{k}.png"),
                        DPI[k]) for k in names]


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
    """Redraw a saved result (``RecordFit.save`` or ``LeadsFit.save``) without refitting:
    ``gmesa plot``.

    ``results``: the ``.info.json`` written by ``RecordFit.save``, the ``.leads.json``
    written by ``LeadsFit.save`` (several leads), or a folder holding one result (one
    ``.leads.json``, or else one ``.info.json``).
    One lead: ``beat`` None -> one figure with a record strip (``start``, ``duration``
    s) on top and a typical beat with its residual below; a beat number (the table's
    ``beat`` column) -> that beat with its components, fiducials and residual.
    Several leads: the beat (default: a typical one) in every lead with the global
    boundaries (:func:`gmesa.plot.leads_beat`).
    ``out``: PNG path, or a folder to write the default name into; default beside the result, ``{stem}.overview.png`` or
    ``{stem}.beat{N}.png`` for ``{stem}.info.json``, ``{stem}.leads.beat.png`` or
    ``{stem}.leads.beat{N}.png`` for ``{stem}.leads.json``.  Returns the path written.
    """
    from ..ecg import RecordFit

    path = Path(results)
    leads_json = _leads_result(path)
    if leads_json is not None:
        return _plot_leads(leads_json, beat, out)
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
    return save_figure(fig, _target(out, default), dpi)


def _target(out, default):
    """Where a figure goes: ``default`` when ``out`` is None, the default's name inside
    ``out`` when it is an existing folder, else ``out`` itself."""
    if out is None:
        return default
    out = Path(out)
    return out / default.name if out.is_dir() else out


def _leads_result(path):
    """The ``.leads.json`` that ``path`` names, or the one a folder holds; None when
    ``path`` is a one-lead result (or a folder without a several-lead result)."""
    if path.is_dir():
        found = sorted(path.glob("*.leads.json"))
        if len(found) > 1:
            raise ValueError(f"{path}: holds {len(found)} results of several leads "
                             f"({', '.join(p.name for p in found[:3])}...); give one .leads.json")
        return found[0] if found else None
    return path if path.name.endswith(".leads.json") else None


def _plot_leads(path, beat, out):
    """:func:`plot_results` for a several-lead result at ``path`` (its .leads.json)."""
    from ..ecg import LeadsFit

    fit = LeadsFit.load(path)
    stem = path.name[:-len(".leads.json")]
    if beat is None:
        row, suffix = typical_beat(fit.fits[fit.primary]), ""
    else:
        row, suffix = _row_of_beat(fit, beat), str(int(beat))
    fig = leads_beat(fit, row)
    default = path.parent / f"{stem}.leads.beat{suffix}.png"
    return save_figure(fig, _target(out, default), DPI["leads.beat"])
