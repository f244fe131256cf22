"""The result of fitting a record: the per-beat table, the cleaned lead, and files."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._atomic import check_table_format, jsonable, write_column, write_table, write_text
from .._deprecated import warn_renamed
from ..core import Layout, baseline_size, baseline_spec, mesa_sum
from .options import BEAT_BASELINE
from .overlap import NEIGHBOUR_REACH, own_waves
from .waves import WAVES

#: baseline coefficients per beat when a result does not say (the default fit's)
N_BASELINE = baseline_size(BEAT_BASELINE)


@dataclass
class BeatFit:
    """One fitted beat: ``t`` seconds from its R peak, ``y`` the cleaned samples (mV),
    ``fit`` the model, ``components`` one array per wave (+ ``baseline``),
    ``fiducials`` seconds from the R peak, ``row`` the beat's table row."""
    t: np.ndarray
    y: np.ndarray
    fit: np.ndarray
    components: dict
    fiducials: dict
    row: pd.Series

    @property
    def residual(self):
        return self.y - self.fit


@dataclass
class RecordFit:
    """Result of :func:`fit_record`.

    ``beats``: one row per beat (``{wave}_{param}`` with centers in seconds from the
    beat's R peak; fiducials ``*_s`` in seconds from the record start; intervals in
    ms; ``rmse`` mV, ``prd`` %, ``r2``; ``status``/``reason``, see :data:`~gmesa.ecg.BEAT_STATUS`).
    ``signal``: the cleaned lead that was fitted; ``info``: settings and summary;
    ``n_baseline``: coefficients of each beat's baseline polynomial.
    """
    beats: pd.DataFrame
    signal: np.ndarray
    fs: float
    info: dict
    waves: tuple = WAVES
    steps: tuple = ()
    params: np.ndarray = field(default=None, repr=False)
    n_baseline: int = N_BASELINE

    @property
    def layout(self):
        """The :class:`gmesa.core.Layout` of the parameter columns: ``layout.labels`` are
        the table's ``{wave}_{param}``, ``{step}_{param}``, ``baseline_c{j}`` columns and
        ``layout.pack(self.beats)`` is the (beats, parameters) matrix."""
        return Layout(self.waves, self.steps, baseline_spec(self.n_baseline))

    @property
    def param_names(self):
        """Names of the parameter columns, in the order of :attr:`params`."""
        return list(self.layout.labels)

    @property
    def n_base(self):
        """Deprecated name of :attr:`n_baseline`."""
        warn_renamed("RecordFit.n_base", "RecordFit.n_baseline")
        return self.n_baseline

    def __len__(self):
        return len(self.beats)

    def neighbours(self, i, t):
        """The neighbouring beats' waves taken out of beat ``i``'s window before it was
        fitted (mV on ``t``, s from its R peak; zeros where none were:
        :mod:`gmesa.ecg.overlap`, ``info["neighbour_waves"]``)."""
        t = np.asarray(t, dtype=float)
        out = np.zeros(t.shape)
        if not bool(self.beats.iloc[i].get("neighbours_out", False)):
            return out
        r_s = self.beats["r_peak_s"].to_numpy(dtype=float)
        reach = NEIGHBOUR_REACH + float(np.max(np.abs(t)))
        lo, hi = np.searchsorted(r_s, [r_s[i] - reach, r_s[i] + reach], side="right")
        for span in self.info.get("neighbour_waves", ()):
            if span["start_s"] <= r_s[i] < span["end_s"]:
                for j in range(lo, hi):
                    tj = t + r_s[i] - r_s[j]
                    if j != i:  # as without_neighbours took them out: within its reach
                        out += np.where(np.abs(tj) <= NEIGHBOUR_REACH,
                                        own_waves(span["waves"], tj), 0.0)
        return out

    def beat(self, i):
        """The fitted beat ``i`` (row position) with its components."""
        row = self.beats.iloc[i]
        r = int(round(row["r_peak_s"] * self.fs))
        a = int(round(row["window_start_s"] * self.fs))
        b = int(round(row["window_end_s"] * self.fs))
        a, b = max(a, 0), min(b, self.signal.size)
        t = (np.arange(a, b) - r) / self.fs
        y = self.signal[a:b] - self.neighbours(i, t)
        lay = self.layout
        vec = np.array([row[n] for n in lay.labels], dtype=float)
        comps = {}
        fit = np.full(t.size, np.nan)
        if np.all(np.isfinite(vec)):
            for w in lay.waves:
                comps[w] = mesa_sum(t, vec[lay.wave(w)], baseline="none")
            for s in lay.steps:
                comps[s] = mesa_sum(t, vec[lay.step(s)], baseline="none", steps=1)
            base = baseline_spec(lay.n_baseline)
            comps["baseline"] = mesa_sum(t, vec[lay.baseline_slice], baseline=base)
            fit = mesa_sum(t, vec, baseline=base, steps=lay.n_steps)
        fid = {c[:-2]: row[c] - row["r_peak_s"] for c in FIDUCIAL_COLUMNS}
        return BeatFit(t, y, fit, comps, fid, row)

    # -- files -------------------------------------------------------------
    def save(self, folder, stem=None, fmt="parquet"):
        """Write ``{stem}.beats.{parquet|csv}``, ``{stem}.signal.parquet`` and
        ``{stem}.info.json`` into ``folder`` (each atomically); return the paths."""
        folder = Path(folder)
        stem = stem or self.info.get("record", "record")
        check_table_format(fmt)
        paths = {"beats": folder / f"{stem}.beats.{fmt}",
                 "signal": folder / f"{stem}.signal.parquet",
                 "info": folder / f"{stem}.info.json"}
        write_column(paths["signal"], "signal", self.signal)
        write_table(paths["beats"], self.beats, fmt)
        info = dict(self.info, waves=list(self.waves), steps=list(self.steps), fs=self.fs,
                    n_baseline=self.n_baseline,
                    beats_file=paths["beats"].name, signal_file=paths["signal"].name)
        write_text(paths["info"], json.dumps(jsonable(info), indent=1))
        return paths

    @classmethod
    def load(cls, path):
        """Read a result written by :meth:`save` (path to its ``.info.json``, or to the
        folder when it holds exactly one result)."""
        path = Path(path)
        if path.is_dir():
            infos = sorted(path.glob("*.info.json"))
            if len(infos) != 1:
                raise ValueError(f"{path}: expected one *.info.json, found {len(infos)}; "
                                 "give the .info.json of the record to load")
            path = infos[0]
        if not path.name.endswith(".info.json"):
            raise ValueError(f"{path}: give the .info.json written beside the beats table")
        info = json.loads(path.read_text())
        folder = path.parent
        bf = folder / info["beats_file"]
        beats = pd.read_parquet(bf) if bf.suffix == ".parquet" else pd.read_csv(bf)
        signal = pd.read_parquet(folder / info["signal_file"])["signal"].to_numpy()
        waves, steps = tuple(info["waves"]), tuple(info["steps"])
        nb = int(info.get("n_baseline", info.get("n_base", N_BASELINE)))  # n_base: old files
        lay = Layout(waves, steps, baseline_spec(nb))
        return cls(beats, signal, float(info["fs"]), info, waves, steps, lay.pack(beats), nb)


FIDUCIAL_COLUMNS = ("P_on_s", "P_peak_s", "P_off_s", "QRS_on_s", "QRS_peak_s", "QRS_off_s",
                    "T_on_s", "T_peak_s", "T_off_s")
INTERVAL_COLUMNS = ("rr_ms", "pr_ms", "qrs_ms", "qt_ms", "qtc_ms", "qtc_fridericia_ms")
#: waves whose amplitude in every lead a several-lead table holds, as
#: ``{wave}_amplitude_{lead}`` (mV; the R' where the record's model has one)
AMPLITUDE_WAVES = ("P", "Q", "R", "S", "T", "R2")


def ok_mask(beats, flagged=False):
    """Boolean array over the rows of a per-beat table: status ``ok`` and, unless
    ``flagged``, not flagged as unlike the template."""
    ok = (beats["status"] == "ok").to_numpy(dtype=bool) if "status" in beats \
        else np.ones(len(beats), bool)
    if not flagged and "flagged" in beats:
        ok = ok & ~beats["flagged"].fillna(False).astype(bool).to_numpy()
    return ok


def trusted_mask(beats):
    """The beats figures and summaries rely on: :func:`ok_mask` (ok, not flagged) -- or,
    when every ok beat is flagged (no usable template), every ok beat."""
    m = ok_mask(beats)
    return m if m.any() else ok_mask(beats, flagged=True)

