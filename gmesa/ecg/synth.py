"""Synthetic ECG records from GMF parameters, with their true parameters and fiducials."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._kernels import mesa_sum_into
from ..lineshapes import GMF_PARAMS
from .fiducials import intervals, wave_fiducials
from .io import Record
from .waves import WAVES, typical_vector


@dataclass
class Synthetic:
    """A synthetic record and its ground truth.

    ``params``: one row per beat, ``{wave}_{param}`` with centers in seconds from the
    record start; ``truth``: fiducials (``P_on_s`` ... ``T_off_s``, seconds from the
    start) and intervals (``rr_ms``, ``pr_ms``, ``qrs_ms``, ``qt_ms``) by the same rule
    gmesa reads off fitted parameters; ``rpeaks``: R-peak sample indices.
    """
    record: Record
    params: pd.DataFrame
    truth: pd.DataFrame
    rpeaks: np.ndarray


def synthesize(duration=60.0, fs=500.0, heart_rate=70.0, *, hrv=0.03, noise=0.02,
               snr_db=None, wander=0.1, wander_hz=0.25, powerline=0.0, mains_hz=50.0,
               variability=0.05, leads=1, seed=0, beat=None, name="synthetic"):
    """A synthetic ECG of ``duration`` s at ``fs`` Hz built from P, Q, R, S, T mesa waves.

    heart_rate : mean rate, beats/min; ``hrv`` is the relative SD of RR intervals.
    noise : white noise SD in mV (ignored when ``snr_db`` is given: noise power is then
        the clean signal's power / 10**(snr_db/10)).
    wander : baseline wander amplitude, mV, at ``wander_hz``; ``powerline``: mains
        interference amplitude, mV, at ``mains_hz``.
    variability : relative SD of each beat's amplitudes and widths around ``beat``.
    leads : number of leads; lead j scales amplitudes by a fixed random gain.
    beat : flat vector of the 5 waves' parameters (s relative to R, mV); default the
        typical lead-II beat of :mod:`gmesa.ecg.waves`.
    """
    rng = np.random.default_rng(seed)
    n = int(round(duration * fs))
    rr_mean = 60.0 / float(heart_rate)
    rr = []
    t = 0.6 * rr_mean
    r_times = []
    while t < duration - 0.8 * rr_mean:
        r_times.append(t)
        step = rr_mean * (1.0 + hrv * rng.standard_normal())
        step = float(np.clip(step, 0.6 * rr_mean, 1.5 * rr_mean))
        rr.append(step)
        t += step
    r_times = np.array(r_times)
    rr = np.array(rr)
    nb = r_times.size
    if nb == 0:
        raise ValueError(f"duration={duration:g} s holds no whole beat at {heart_rate:g} "
                         f"beats/min: give at least {1.4 * rr_mean:.2f} s")
    base = np.asarray(beat, dtype=float) if beat is not None else None
    rows = np.empty((nb, 25))
    for i in range(nb):
        rows[i] = typical_vector(WAVES, rr=rr[i]) if base is None else base
        jitter = 1.0 + variability * rng.standard_normal(25)
        jitter[1::5] = 1.0                         # centers: fixed relative to R
        rows[i] *= jitter
        rows[i, 2::5] = np.abs(rows[i, 2::5])
    x = np.arange(n) / fs
    clean = np.zeros((n, leads))
    gains = np.concatenate([[1.0], rng.uniform(0.5, 1.2, leads - 1)])
    out = np.empty(n)
    for i in range(nb):
        lo = max(0, int((r_times[i] - 0.5) * fs))
        hi = min(n, int((r_times[i] + 0.9) * fs))
        p = rows[i].copy()
        p[1::5] += r_times[i]
        seg = np.ascontiguousarray(x[lo:hi])
        mesa_sum_into(seg, p, 5, 0, 0, out[: hi - lo])
        clean[lo:hi] += out[: hi - lo, None] * gains[None, :]
    if snr_db is not None:
        noise = float(np.sqrt(np.mean(clean[:, 0] ** 2) / 10 ** (snr_db / 10.0)))
    sig = clean + noise * rng.standard_normal((n, leads))
    sig += wander * np.sin(2 * np.pi * wander_hz * x + rng.uniform(0, 2 * np.pi))[:, None]
    sig += powerline * np.sin(2 * np.pi * mains_hz * x)[:, None]
    names = [f"{w}_{p}" for w in WAVES for p in GMF_PARAMS]
    params = pd.DataFrame(rows, columns=names)
    # the truth is the pipeline's reading of the true parameters (the learned map); its
    # noise feature: the residual SD of a perfect fit without low-pass, the noise SD
    fid = wave_fiducials(rows, WAVES, method="map", noise=noise,
                         rr=np.concatenate([[np.nan], np.diff(r_times)]))
    truth = pd.DataFrame({f"{k}_s": v + r_times for k, v in fid.items()})
    truth.insert(0, "r_peak_s", r_times)
    truth.insert(0, "beat", np.arange(nb))
    rr_prev = np.concatenate([[np.nan], np.diff(r_times)])
    for k, v in intervals(fid, rr_prev).items():
        truth[k] = v
    for w in WAVES:
        params[f"{w}_center"] += r_times
    record = Record(sig if leads > 1 else sig[:, 0], float(fs),
                    leads=tuple(f"lead{j}" for j in range(leads)), name=name)
    return Synthetic(record, params, truth, np.round(r_times * fs).astype(np.int64))
