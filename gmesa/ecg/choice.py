"""Record-level model choice: which waves a stretch of rhythm shows, decided on its beats.

Competing hypotheses -- the P wave absent or there (the template's own best P); then the
T wave upright or inverted -- are each fitted on the template (the median beat,
:func:`~gmesa.ecg.template.fit_template`) and then scored on a sample of the beats: every
sampled beat is fitted from that hypothesis' template fit within its constraints (the P
shape held at the template's, shared by the record), and the hypothesis' score is the
Bayesian information criterion summed over the beats,

    BIC = sum_i  n_eff,i ln(SSE_i / n_i)  +  k ln(n_eff,i)

(``n_i`` samples of beat i, ``n_eff`` = the share of the Nyquist band the low-pass leaves
times ``n``: filtered noise is correlated; ``k`` the free parameters), plus the shared
parameters' ``ln(N n_eff)`` once.  The lowest BIC wins; its margin over the runner-up
says by how much, and the beats say how sure: the share of beats whose own BIC agrees
and the probability that the choice holds for another draw of the record's beats
(:func:`beat_confidence`).  (Which factors are chosen: ``FitOptions.model_choice``,
:data:`FACTORS`.)
One decision per stretch of rhythm, made by the likelihood of its beats, instead of one
rule per failure: a long record's later chunk keeps the choice in force (a
:class:`Stretch`) while its median beat still looks like the one the choice was made on
(:func:`same_stretch`), and the beats choose again where it does not (a new rhythm, a T
that inverts or flattens).

Times in seconds from R, amplitudes in mV.
"""
from __future__ import annotations

from dataclasses import replace
from math import erfc
from typing import NamedTuple

import numpy as np

from ..solvers import fit_many
from .waves import in_layout

#: at most this many beats (evenly spaced over the usable ones) score the hypotheses
CHOICE_BEATS = 30

#: the factors the beats may choose (``FitOptions.model_choice``).  A U wave is not one:
#: a U component always lowered the BIC of beats the model misfits (LUDB even: U chosen
#: in 7 of 8 records, T off worse); U stays with :func:`~gmesa.ecg.template.with_u_wave`
FACTORS = ("P", "T")

#: the levels of the P and T factors.  P "free": the template's own best P (either
#: sign, :func:`~gmesa.ecg.beatmodel.best_start`); P "upright"/"inverted" as levels
#: (LUDB even) put an inverted P on the PR segment's sag in records 78 and 164: the
#: beats' BIC prefers a P that absorbs the model's misfit
P_LEVELS = ("absent", "free")
T_LEVELS = ("upright", "inverted")

#: a later chunk keeps the choice in force when its median beat correlates at least this
#: well with the median beat the choice was made on, region by region (:func:`same_stretch`)
STRETCH_CORR = 0.9
#: ... and when the beats were at least this sure of it (:func:`beat_confidence`); a choice
#: they were not is made again in the next chunk.  (A BIC margin is overconfident, its
#: beats not independent: on QTDB, sel35 and sel44 chose T upright by 56 and 96 in the
#: first 10 minutes and inverted in the last 5, on median beats that correlate at 0.96 and
#: 0.998, with confidences of 0.61 and 0.64.  With 0.99, set before the run, all 75 full
#: QTDB records give the tables of choosing in every chunk.)
STRETCH_CONFIDENCE = 0.99
#: a factor's choice is imposed only when the beats are at least this sure of it
#: (:func:`beat_confidence`); below, the factor stays "free": the template takes its own
#: best wave of either sign, and the beats follow it as any template's (LUDB even:
#: records 98, 0.90, and 126, 0.83; T off of 98 +50 -> -38 ms)
CHOICE_CONFIDENCE = 0.95
#: the regions compared, s from R: the QRS within this of R, the P region before it, the
#: ST-T after it
STRETCH_QRS = 0.08


class Hypothesis(NamedTuple):
    """One model of the record: the P wave (``p``: "absent", "free" of sign, "upright",
    "inverted"; None: P not modelled), the T wave (``t``: "upright", "inverted", "free" of sign;
    None: not modelled) and a U wave (``u``)."""
    p: str | None
    t: str | None
    u: bool

    @property
    def name(self):
        """A short name, e.g. ``"P upright, T inverted, no U"``."""
        parts = [] if self.p is None else [f"P {self.p}"]
        parts += [] if self.t is None else [f"T {self.t}"]
        return ", ".join(parts + ["U" if self.u else "no U"])


class Stretch(NamedTuple):
    """A choice in force: the model chosen (``hyp``, a :class:`Hypothesis` whose ``u``
    says whether a U wave was added; ``lobe``: a terminal T lobe; ``r_prime``: an R'),
    the median beat it was made on (``t`` s from R, ``y`` mV), the summary of the choice (``summary``,
    :func:`choose_model`) and the template's split-half spread measured when it was made
    (``spread``, :mod:`gmesa.ecg.spread`; None: not measured) and the template's fit
    (``fit``: {"cut": (layout, parameter vector)} and, where the beats' waves overlap,
    "less": that of the signal less the neighbours' waves, :mod:`gmesa.ecg.overlap`;
    None: not kept), from which a later chunk's template is fitted too."""
    hyp: Hypothesis
    t: np.ndarray
    y: np.ndarray
    summary: dict
    spread: dict | None = None
    lobe: bool = False
    r_prime: bool = False
    fit: dict | None = None

    def held(self, kind, layout):
        """The template fit ``kind`` ("cut" or "less", see ``fit``) as a parameter
        vector of ``layout`` (:func:`~gmesa.ecg.waves.in_layout`), or None where not kept."""
        got = (self.fit or {}).get(kind)
        return None if got is None else in_layout(got[1][None, :], got[0], layout)[0]


def same_stretch(stretch, t, y, factors=FACTORS):
    """True when the choice of ``stretch`` (a :class:`Stretch`) holds for a later chunk
    whose median beat is ``y`` (mV) on ``t`` (s from R, the same sampling rate), without
    scoring its beats again: the beats were at least :data:`STRETCH_CONFIDENCE` sure of
    the choice (or it had nothing to choose), and on the samples both median beats cover their correlation is
    at least :data:`STRETCH_CORR` within :data:`STRETCH_QRS` of R (the same QRS: the same
    rhythm and conduction), after it (the ST-T: a T that inverts or flattens fails) and,
    when P is one of the ``factors`` chosen, before it (the P region)."""
    if stretch.summary.get("margin") is not None and not stretch.summary.get(
            "confidence", 1.0) >= STRETCH_CONFIDENCE:
        return False
    dt = float(t[1] - t[0]) if len(t) > 1 else 1.0
    common, i, j = np.intersect1d(np.rint(stretch.t / dt).astype(np.int64),
                                  np.rint(np.asarray(t) / dt).astype(np.int64),
                                  return_indices=True)
    tc, a, b = common * dt, stretch.y[i], np.asarray(y)[j]
    regions = [np.abs(tc) <= STRETCH_QRS, tc > STRETCH_QRS]
    if "P" in factors:
        regions.append(tc < -STRETCH_QRS)
    for part in regions:
        if np.count_nonzero(part) < 3:
            return False
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.corrcoef(a[part], b[part])[0, 1]
        if not r >= STRETCH_CORR:
            return False
    return True


def options_for(opts, hyp):
    """``opts`` with the U wave of ``hyp`` (a U component added when it has one)."""
    if hyp.u and "U" not in opts.waves:
        return replace(opts, u_wave=True)
    return opts


def constrain(opts, hyp, lower, upper):
    """Bounds (copies of ``lower``/``upper``, (P,) in the layout of ``opts``) under
    ``hyp``: an upright wave's amplitude >= 0, an inverted one's <= 0, an absent P's
    amplitude 0 and its center and widths held (mid-range)."""
    lay = opts.layout
    lo, hi = np.array(lower, dtype=float), np.array(upper, dtype=float)
    for wave, level in (("P", hyp.p), ("T", hyp.t)):
        if level in (None, "free"):
            continue
        a = lay.index(wave, "amplitude")
        if level == "upright":
            lo[a] = max(lo[a], 0.0)
        elif level == "inverted":
            hi[a] = min(hi[a], 0.0)
        else:
            part = lay.wave(wave)
            mid = np.where(np.isfinite(lo[part] + hi[part]), 0.5 * (lo[part] + hi[part]),
                           np.clip(0.01, lo[part], hi[part]))
            lo[part] = hi[part] = mid
            lo[a] = hi[a] = 0.0
    hi = np.maximum(hi, lo)
    return lo, hi


def beat_sample(sig, r, t, fs, usable, m=CHOICE_BEATS):
    """Up to ``m`` beats (rows, mV) evenly spaced over the ``usable`` ones (bool per R
    peak ``r``, samples), on the template's grid ``t`` (s from R), with no NaN sample."""
    offs = np.round(np.asarray(t) * fs).astype(np.int64)
    idx = np.flatnonzero(usable)
    idx = idx[(r[idx] + offs[0] >= 0) & (r[idx] + offs[-1] < sig.size)]
    if idx.size > m:
        idx = idx[np.linspace(0, idx.size - 1, m).astype(int)]
    segs = sig[r[idx, None] + offs[None, :]] if idx.size else np.zeros((0, offs.size))
    return segs[np.all(np.isfinite(segs), axis=1)]


def held_shapes(opts, params, lower, upper, waves=("P", "U")):
    """Bounds for the beats of one hypothesis: the shape (center, plateau, tails) of the
    ``waves`` it models with a free amplitude held at the template fit's ``params``, so
    the beats share one P (and U) shape and each fits its own amplitude.  Returns
    (lower, upper, the number of parameters held: shared by the record)."""
    lay = opts.layout
    lo, hi = lower.copy(), upper.copy()
    shared = 0
    for w in waves:
        if w not in lay.waves or not hi[lay.index(w, "amplitude")] > lo[lay.index(w, "amplitude")]:
            continue
        shape = slice(lay.index(w, "center"), lay.wave(w).stop)
        lo[shape] = hi[shape] = np.clip(params[shape], lower[shape], upper[shape])
        shared += shape.stop - shape.start
    return lo, hi, shared


def beat_bic(opts, t, segs, y, params, lower, upper, bw):
    """(BIC per beat, BIC of the shared parameters) of beats (rows ``segs`` on ``t``)
    fitted from the template fit ``params`` (its level moved from the template's,
    ``y``, to each beat's) within [``lower``, ``upper``], the P and U shapes held at the
    template's (:func:`held_shapes`, counted once for the record); ``bw`` the share of
    the Nyquist band the low-pass leaves.  NaN where a beat's fit failed."""
    lay = opts.layout
    lo, hi, shared = held_shapes(opts, params, lower, upper)
    c0 = lay.baseline_slice.start
    start = np.tile(params, (len(segs), 1))
    start[:, c0] += np.median(segs, axis=1) - np.median(y)
    start = np.clip(start, lo, hi)
    res = fit_many(t, segs, start, lo, hi, steps=len(opts.steps), max_iter=200,
                   baseline=opts.baseline, check=False, stderr=False)
    n = t.size
    n_eff = max(n * bw, 2.0)
    k = int(np.sum(hi > lo))
    sse = np.maximum(2.0 * np.asarray(res.cost), 1e-30)
    with np.errstate(invalid="ignore"):
        per_beat = n_eff * np.log(sse / n) + k * np.log(n_eff)
    return per_beat, shared * np.log(n_eff * max(len(segs), 1))


def _stage(cands, scored):
    """(BIC totals of the hypotheses ``cands`` over the beats all of them fitted, their
    per-beat BIC on those beats with the shared parameters' BIC spread evenly)."""
    per = np.array([scored[h][0] for h in cands])
    common = np.all(np.isfinite(per), axis=0)
    shared = np.array([scored[h][1] for h in cands])
    per = per[:, common]
    return np.sum(per, axis=1) + shared, per + shared[:, None] / max(per.shape[1], 1)


def beat_confidence(d):
    """How sure a choice is, from ``d``: each beat's BIC of the runner-up minus the
    chosen hypothesis' (positive: the beat agrees).  The probability that the beats'
    total keeps its sign when the beats are drawn again from the record (a bootstrap,
    in its normal approximation: Phi(sum d / (sqrt(n) SD(d)))); 1 when every beat agrees
    by the same amount.  A margin of thousands of BIC units made of beats that disagree
    gets a low confidence; one of consistent beats a high one."""
    d = np.asarray(d, dtype=float)
    total = float(np.sum(d))
    sd = float(np.std(d, ddof=1)) if d.size > 1 else 0.0
    if not sd > 0:
        return 1.0 if total > 0 else 0.5
    return float(0.5 * erfc(-total / (np.sqrt(2.0 * d.size) * sd)))


def choose_model(opts, evaluate):
    """The hypothesis the beats choose and the summary of the choice for ``info``.

    ``evaluate(hyp)`` gives (BIC per beat, shared BIC) of a
    :class:`Hypothesis` (:func:`beat_bic`).  The factors of ``opts.model_choice`` are
    chosen one after the other, each given those before: P (:data:`P_LEVELS`; T free
    of sign), then T (:data:`T_LEVELS`); a factor not chosen, or chosen by beats less
    sure of it than :data:`CHOICE_CONFIDENCE`, stays "free".  Summary:
    the chosen hypothesis (``chosen``, ``hypothesis``), every hypothesis' BIC over the
    beats (``scores``), per factor the delta-BIC to its runner-up (``factor_margins``),
    the smallest of them (``margin``), per factor the share of beats whose own BIC
    agrees (``beats_agreeing``) and the product over the stages of
    :func:`beat_confidence` (``confidence``)."""
    scored = {}
    u0 = "U" in opts.waves
    chosen = opts.model_choice
    factors = [(w.lower(), levels if w in chosen else ("free",)) if w in opts.waves
               else (w.lower(), (None,)) for w, levels in (("P", P_LEVELS), ("T", T_LEVELS))]
    cur = Hypothesis(None, "free" if "T" in opts.waves else None, u0)
    margins, agree, confidence = {}, {}, 1.0
    margins["U"] = agree["U"] = None  # not a factor (FACTORS)
    for name, levels in factors:
        cands = [cur._replace(**{name: lv}) for lv in levels]
        if len(cands) == 1:
            cur, margins[name.upper()], agree[name.upper()] = cands[0], None, None
            continue
        for h in cands:
            if h not in scored:
                scored[h] = evaluate(h)
        bic, per = _stage(cands, scored)
        bic = np.where(np.isfinite(bic), bic, np.inf)
        best, runner = np.argsort(bic)[:2]
        margins[name.upper()] = float(bic[runner] - bic[best])
        d = per[runner] - per[best]
        agree[name.upper()] = float(np.mean(d > 0)) if d.size else None
        sure = beat_confidence(d)
        confidence *= sure
        cur = cands[best] if sure >= CHOICE_CONFIDENCE else cur._replace(**{name: "free"})
    given = [m for m in margins.values() if m is not None]
    summary = {
        "chosen": cur.name,
        "hypothesis": {"P": cur.p, "T": cur.t, "U": cur.u},
        "scores": {h.name: float(np.nansum(v[0]) + v[1]) for h, v in scored.items()},
        "factor_margins": margins,
        "margin": float(min(given)) if given else None,
        "beats_agreeing": agree,
        "confidence": confidence,
        "score": "BIC summed over the beats (P, U shapes shared)",
    }
    return cur, summary
