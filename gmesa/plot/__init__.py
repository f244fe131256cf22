"""Figures of gmesa: a fitted beat and its components, a record strip, the superimposed
beats, parameter trends, and the theory figure.

One module per family of figures:

- :mod:`.single_beat`: :func:`beat` (one beat, its components, boundaries, residual),
  :func:`typical_beat`;
- :mod:`.strip`: :func:`record` (a strip of the record, optionally on ECG paper),
  :func:`overview` (a strip above a typical beat: ``gmesa plot``);
- :mod:`.leads_beat`: :func:`leads_beat` (one beat in every lead of a
  :class:`~gmesa.ecg.LeadsFit`, stacked, the global boundaries through all of them);
- :mod:`.superimposed`: :func:`template` (every beat at its R peak, the median fit);
- :mod:`.timeline`: :func:`trends` (columns of the per-beat table over time, of a
  RecordFit or a LeadsFit; the spatial QRS-T angle where the table has it),
  :func:`column_label`;
- :mod:`.gmf_construction`: :func:`construction` (the theory figure);
- :mod:`.style`: colours, line styles and the helpers they share;
- :mod:`.files`: PNG files of a fit (:func:`gmesa.plot.files.write_figures`, what
  ``gmesa fit --figures`` writes) and of a saved result
  (:func:`gmesa.plot.files.plot_results`, what ``gmesa plot`` draws).

matplotlib is imported lazily inside the functions, so ``import gmesa`` stays light.
Axes-level helpers take ``ax=None`` and return the Axes they drew into; figure-level
helpers (:func:`trends` without ``ax``, :func:`construction` without ``ax``,
:func:`overview`) return the Figure.  Nothing here calls ``plt.show()``.

When a function creates its own figure it uses ``matplotlib.pyplot`` if pyplot has
already been imported (so figures show up in Jupyter and interactive sessions as usual)
and a bare :class:`matplotlib.figure.Figure` otherwise (scripts, the CLI and batch
workers then keep no global figure state).  Save with ``ax.figure.savefig(path)``.

Colours: one per wave (:data:`WAVE_COLORS`) in every figure; each wave also has its
own hatch and line style (:data:`WAVE_STYLES`) so the figures survive black-and-white
print.  Times in a beat are milliseconds from its R peak; amplitudes are in the
record's unit (``fit.info["units"]`` when present, else mV).

The figures take a :class:`gmesa.ecg.RecordFit` (one lead): they read its ``beats``
table, ``signal``, ``fs``, ``info``, ``steps``, ``layout`` (where each parameter sits)
and ``beat(i)``.  For several leads, :func:`leads_beat` and :func:`trends` take the
:class:`gmesa.ecg.LeadsFit`; the others draw one lead's fit: ``leads_fit.fits[lead]``.
"""
from __future__ import annotations

from .gmf_construction import construction
from .leads_beat import leads_beat
from .single_beat import beat, typical_beat
from .strip import overview, record
from .style import (FIDUCIAL_LABELS, FIT_COLOR, FLAG_COLOR, RESIDUAL_COLOR, SAMPLE_COLOR,
                    WAVE_COLORS, WAVE_STYLES, close, unit, wave_color)
from .superimposed import template
from .any_fit import decomposition, pulses, pulses_overview
from .timeline import column_label, trends

__all__ = [
    "beat", "typical_beat", "leads_beat", "record", "overview", "template", "trends", "column_label",
    "construction", "close", "unit", "wave_color", "WAVE_COLORS", "WAVE_STYLES",
    "SAMPLE_COLOR", "FIT_COLOR", "RESIDUAL_COLOR", "FLAG_COLOR", "FIDUCIAL_LABELS",
    "decomposition", "pulses", "pulses_overview",
]
