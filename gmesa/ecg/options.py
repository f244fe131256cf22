"""Settings of :func:`~gmesa.ecg.fit_record` and the per-beat status names."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._deprecated import warn_renamed
from ..core import Layout, baseline_size
from .waves import REGIONS, WAVES

#: per-beat ``status`` values and what they mean
BEAT_STATUS = {
    "ok": "fitted; the solver converged",
    "max_iter": "fitted, but the iteration limit came first: parameters are the best found",
    "poor_fit": "fitted, but the PRD is above the limit: the model does not describe the beat",
    "failed": "the solver stopped on a non-finite model; no parameters",
    "nan": "NaN samples in the beat window; not fitted",
    "flat": "flat signal in the beat window; not fitted",
    "edge": "the beat window runs past the start or end of the signal; not fitted",
    "artefact": "glitches or clipping cover more than a quarter of the beat window; not fitted "
                "(a beat with fewer is fitted without those samples, the reason says so)",
    "not_ecg": "fitted, but the lead's beats share no ECG shape (noise or another signal, "
               "gmesa.ecg.plausible): nothing is reported from them",
}

#: the per-beat baseline polynomial by default (a spec of :func:`gmesa.core.baseline_size`)
BEAT_BASELINE = "linear"

#: the solvers :func:`~gmesa.ecg.fit_record` can use
ENGINES = ("batch", "scipy", "lmfit")

#: the options that are switches (True or False)
SWITCHES = ("st_step", "artefacts", "pacing_spikes", "template_spread", "signal_onset",
            "overlap", "p_shape_prior")


@dataclass
class FitOptions:
    """Settings of :func:`fit_record` (seconds, Hz, mV); see docs/ecg.md for each.

    ``wander``: the wander-removal method of :func:`~gmesa.ecg.clean.clean`
    ("highpass" at ``highpass_hz``, "median" or None); ``baseline``: each beat's own
    baseline polynomial ("constant", "linear", "quadratic" or a degree).
    ``artefacts``: mask glitches and clipped samples before cleaning
    (:mod:`gmesa.ecg.artefacts`) and leave them out of the fits;
    ``pacing_spikes``: with ``artefacts``, find pacemaker spikes, bridge them before
    cleaning and give each beat's latest one (``pacing_spike_s``, :mod:`gmesa.ecg.pacing`);
    ``t_lobe``: "auto" adds a terminal lobe (an upright T2 right after an inverted T)
    where the template shows one and the QT read with it is nearer the typical QTc
    (:func:`~gmesa.ecg.template.with_t_lobe`; each stretch of rhythm's template
    decides, as for U); False never.  ``r_prime``: "auto" adds a second lobe of R's
    sign inside the QRS (``R2``: an R' or a notch, a fragmented QRS) where the model
    without it leaves the template's QRS misfit and the lobe stands out of the template
    (:func:`~gmesa.ecg.template.with_r_prime`; each stretch decides); beats with it
    have ``QRS_fragmented``; False never.  The joint model of several leads
    (:func:`~gmesa.ecg.fit_leads`) and its pooled reading have none unless asked
    (docs/joint.md).
    ``wave_snr``: a P/T wave is present only when its amplitude exceeds this many
    times the beat's RMSE (and its energy passes a BIC test); ``p_window_s``: a P wave
    must also sit this close to the usual P position of the stretch; ``u_wave``:
    "auto" adds a U component where the template's T would peak later than
    ``T_LATEST`` sqrt(RR) (the late bump is then a U wave), True always (as "U" in
    ``waves``), False never; ``model_choice``: the factors the beats choose for the
    whole record (:mod:`gmesa.ecg.choice`): "T" (upright or inverted), "P" (absent or
    there); ``()`` none.  ``priors``: fit every beat by MAP with the population
    priors of :mod:`gmesa.ecg.priors` (centers and widths learned on LUDB calibration
    records), scaled to each beat's noise; False: least squares within the bounds.
    ``fiducials``: "map" reads onsets and offsets by the learned map of
    :mod:`gmesa.ecg.fidmap` (with an uncertainty per beat), "rule" by the older
    amplitude fraction + constant shift (:data:`~gmesa.ecg.fiducials.RULE`).
    ``fit_beats``: "all" fits every beat; "flagged" only the beats unlike the template
    (the others keep their window's status and NaN parameters): the joint model's
    first pass over its primary lead (:mod:`gmesa.ecg.joint`), which needs the
    windows, the template and those beats' own fits only.  ``template_spread``: build
    the template again from each half of its beats and add how far their readings move
    to every beat's boundary SD (:mod:`gmesa.ecg.spread`; two template fits per stretch of
    rhythm).  ``signal_onset``: where the model misfits a beat's QRS (its QRS PRD above
    :data:`~gmesa.ecg.beatmodel.QRS_MISFIT_PRD`), its QRS onset is the earlier of the
    model's and the signal's own (:func:`~gmesa.ecg.beatmodel.misfit_qrs_onset`); False:
    the model's always (the pooled reading of several leads, where the other leads
    overrule one that misfits: on LUDB even's global marks it was worse with it, QRS on
    9.8 -> 10.7 ms).  ``overlap``: where the template's waves overlap the neighbours'
    (a fast rate), fit each beat on the signal less its neighbours' waves
    (:mod:`gmesa.ecg.overlap`; the joint model takes each lead's own out); False: the
    windows cut them, and the onsets and ends they cut are withheld.
    ``p_shape_prior``: once a beat's P wave is found (by the fit without priors) and
    seen whole (its onset read), its plateau and tails are fitted again by MAP with the
    population P prior (its place, height and the baseline line free, the other waves
    held) and its boundaries read from that fit (:mod:`gmesa.ecg.p_shape`: a small P's
    tails are otherwise free to run into the baseline); False: read from the fit that
    found it.
    """
    waves: tuple = WAVES
    st_step: bool = True
    engine: str = "batch"
    wander: str | None = "highpass"
    powerline: float | None = None
    lowpass: float | None = 40.0
    highpass_hz: float = 0.3
    baseline: str | int = BEAT_BASELINE
    max_iter: int = 400
    #: the solver's ftol, xtol and gtol: 1e-5 moves the fiducials of record 100 by a
    #: median 0 ms (99th percentile under 0.7 ms) from 1e-6 and takes 19% fewer
    #: iterations (docs/results.md, session 15)
    tol: float = 1e-5
    template_corr: float = 0.90
    premature: float = 0.80
    prd_limit: float = 30.0
    wave_snr: float = 2.0
    p_window_s: float = 0.060
    u_wave: bool | str = "auto"
    t_lobe: bool | str = "auto"
    r_prime: bool | str = "auto"
    model_choice: tuple = ("T",)
    chunk_s: float = 600.0
    threads: int | None = None
    artefacts: bool = True
    pacing_spikes: bool = True
    priors: bool | tuple = False
    fiducials: str = "map"
    fit_beats: str = "all"
    template_spread: bool = True
    signal_onset: bool = True
    overlap: bool = True
    p_shape_prior: bool = True

    def __post_init__(self):
        self.waves = tuple(self.waves)
        unknown = [w for w in self.waves if w not in REGIONS]
        if unknown or "R" not in self.waves:
            raise ValueError(f"waves={self.waves!r}: each must be one of {sorted(REGIONS)} "
                             "and R must be among them")
        self.model_choice = tuple(self.model_choice)
        if any(f not in ("P", "T") for f in self.model_choice):
            raise ValueError(f"model_choice={self.model_choice!r}: the factors the beats "
                             "may choose are 'P' and 'T' (e.g. ('T',), ('P', 'T') or ())")
        if self.u_wave not in ("auto", True, False):
            raise ValueError(f"u_wave={self.u_wave!r}; use 'auto', True or False")
        if self.t_lobe not in ("auto", True, False):
            raise ValueError(f"t_lobe={self.t_lobe!r}; use 'auto' or False (True: the "
                             "stretch's template chose a terminal T lobe)")
        if self.r_prime not in ("auto", True, False):
            raise ValueError(f"r_prime={self.r_prime!r}; use 'auto' or False (True: the "
                             "stretch's template chose an R')")
        if self.u_wave is True and "U" not in self.waves and "T" in self.waves:
            self.waves += ("U",)
        if "U" in self.waves and "T" not in self.waves:
            raise ValueError(f"waves={self.waves!r}: a U wave needs the T wave before it")
        try:
            n = baseline_size(self.baseline)
        except ValueError:
            n = 0
        if n == 0:
            raise ValueError(f"baseline={self.baseline!r}; use 'constant', 'linear', "
                             "'quadratic' or a polynomial degree >= 0 (a beat has a level)")
        if not (isinstance(self.priors, bool) or (
                isinstance(self.priors, (tuple, list)) and self.priors
                and all(isinstance(w, str) for w in self.priors))):
            raise ValueError(f"priors={self.priors!r}; use True, False or a tuple of wave "
                             "or step names such as ('T', 'ST')")
        if not isinstance(self.priors, bool):
            self.priors = tuple(self.priors)
        if self.fiducials not in ("map", "rule"):
            raise ValueError(f"fiducials={self.fiducials!r}; use 'map' (learned) or 'rule'")
        if self.fit_beats not in ("all", "flagged"):
            raise ValueError(f"fit_beats={self.fit_beats!r}; use 'all' (every beat) or "
                             "'flagged' (only the beats unlike the template)")
        if self.engine not in ENGINES:
            raise ValueError(f"engine={self.engine!r}; use 'batch', 'scipy' or 'lmfit'")
        for name in SWITCHES:
            value = getattr(self, name)
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{name}={value!r}; use True or False")
            setattr(self, name, bool(value))

    @property
    def steps(self):
        """Names of the tanh steps: ``("ST",)`` with ``st_step``."""
        return ("ST",) if self.st_step else ()

    def bandwidth(self, fs):
        """The share of the Nyquist band (at ``fs`` Hz) the low-pass filter leaves: noise
        samples are that correlated, so evidence counts that share of them."""
        return min(1.0, 2.0 * self.lowpass / fs) if self.lowpass else 1.0

    @property
    def n_baseline(self) -> int:
        """Number of coefficients of each beat's baseline polynomial."""
        return baseline_size(self.baseline)

    @property
    def layout(self) -> Layout:
        """The :class:`~gmesa.core.Layout` of each beat's parameter vector."""
        return Layout(self.waves, self.steps, self.baseline)

    @property
    def n_base(self) -> int:
        """Deprecated name of :attr:`n_baseline`."""
        warn_renamed("FitOptions.n_base", "FitOptions.n_baseline")
        return self.n_baseline

    @property
    def clean(self):
        """Deprecated name of :attr:`wander`."""
        warn_renamed("FitOptions.clean", "FitOptions.wander")
        return self.wander
