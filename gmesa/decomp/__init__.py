"""Decompose any waveform into mesa functions, and fit every pulse of a pulsatile signal.

* :func:`decompose` (``search``): one waveform -- a pulse, a spectrum line, an averaged
  beat -- as K mesa functions, K chosen by BIC/AIC/PRD (greedy dictionary search in
  ``_omp``, refined and scored in ``_refine``); the result is a :class:`Decomposition`
  (``result``).
* :func:`fit_pulses` (``pulses``): every pulse of a PPG or arterial-pressure signal,
  cut at its onsets (``onsets``), fitted from one template decomposition, judged
  interpretable or not (``interpret``); the result is a :class:`PulseFit`
  (``pulse_result``); ``pulse_io`` reads one pulse channel from a record file.

See docs/decompose.md.
"""
from __future__ import annotations

from .result import Decomposition
from .search import decompose


def __getattr__(name):
    # pandas-backed: loaded when asked for
    if name == "fit_pulses":
        from .pulses import fit_pulses
        return fit_pulses
    if name == "PulseFit":
        from .pulse_result import PulseFit
        return PulseFit
    raise AttributeError(f"module 'gmesa.decomp' has no attribute {name!r}")


__all__ = ["decompose", "Decomposition", "fit_pulses", "PulseFit"]
