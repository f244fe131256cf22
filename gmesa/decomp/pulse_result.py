"""``PulseFit``: the result of :func:`gmesa.fit_pulses`, with its files."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from .. import _kernels as K
from .._atomic import check_table_format, jsonable, write_table, write_text
from ..core import Layout
from .result import Decomposition

#: suffixes of a saved PulseFit's files, after its stem
SUFFIXES = {"info": ".pulses.json", "signal": ".pulses-signal.parquet"}


class Pulse(NamedTuple):
    """One fitted pulse: ``t`` (s from its window's start), samples ``y``, model ``fit`` (NaN when
    not fitted), ``components`` (name -> array, and ``baseline``) and its table ``row``."""
    t: np.ndarray
    y: np.ndarray
    fit: np.ndarray
    components: dict
    row: pd.Series


@dataclass(eq=False)
class PulseFit:
    """Pulses of a signal decomposed on a common template (see :func:`gmesa.fit_pulses`).

    ``pulses``: one row per pulse; ``template``: the median pulse's
    :class:`gmesa.Decomposition`; ``info``: settings, fs, onset method, gmesa version;
    ``signal`` and ``fs``: the samples the pulses were cut from.
    """
    pulses: pd.DataFrame
    template: Decomposition
    info: dict
    signal: np.ndarray
    fs: float

    def __len__(self):
        return len(self.pulses)

    def __repr__(self):
        s = self.summary()
        return (f"PulseFit({s['pulses']} pulses, K={self.template.n_components}, "
                f"{s['interpretable']:.1%} interpretable, median PRD {s['median_prd']:.2f}%)")

    @property
    def layout(self):
        """Layout of a pulse's vector: the template's components + the pulses' baseline."""
        return Layout(self.template.names, (), self.info.get("baseline", "linear"))

    @property
    def params(self) -> np.ndarray:
        """(N, P) fitted vectors (NaN rows for pulses not fitted)."""
        return self.layout.pack(self.pulses)

    def summary(self) -> dict:
        """pulses, ok, flagged, failed, interpretable fraction, median PRD (%)."""
        st = self.pulses["status"]
        n = len(self.pulses)
        return {"pulses": n, "ok": int((st == "ok").sum()),
                "flagged": int((st == "flagged").sum()), "failed": int((st == "failed").sum()),
                "interpretable": float(self.pulses["interpretable"].mean()) if n else 0.0,
                "median_prd": float(np.nanmedian(self.pulses["prd"])) if n else float("nan"),
                "components": self.template.n_components}

    def pulse(self, i) -> Pulse:
        """Pulse ``i`` (row position) with its samples, model and components."""
        n = len(self.pulses)
        if not -n <= int(i) < n:
            raise IndexError(f"pulse {i} out of range: the fit holds pulses 0..{n - 1}")
        row = self.pulses.iloc[int(i)]
        a = int(round(row["start_s"] * self.fs))
        m = int(round(row["duration_s"] * self.fs))
        y = self.signal[a:a + m]
        t = np.arange(y.size) / self.fs
        vec = self.layout.pack(row.to_frame().T)[0]
        k, nb = self.template.n_components, self.layout.n_baseline
        comps = {}
        fit = np.full(t.size, np.nan)
        if np.all(np.isfinite(vec)):
            fit = np.empty(t.size)
            K.mesa_sum_into(t, vec, k, 0, nb, fit)
            for j, name in enumerate(self.template.names):
                comps[name] = np.empty(t.size)
                K.mesa_sum_into(t, np.ascontiguousarray(vec[5 * j:5 * j + 5]), 1, 0, 0,
                                comps[name])
            comps["baseline"] = np.empty(t.size)
            K.mesa_sum_into(t, np.ascontiguousarray(vec[5 * k:]), 0, 0, nb, comps["baseline"])
        return Pulse(t, y, fit, comps, row)

    # -- files -----------------------------------------------------------------------
    def save(self, folder, stem=None, fmt="parquet"):
        """Write ``{stem}.pulses.{parquet|csv}`` (the table), ``{stem}.pulses-signal.parquet``
        and ``{stem}.pulses.json`` (info and the template) into ``folder``, each
        atomically; ``stem`` defaults to ``info["record"]`` or "pulses".  Returns the paths."""
        check_table_format(fmt)
        folder = Path(folder)
        stem = str(stem or self.info.get("record") or "pulses")
        paths = {"pulses": folder / f"{stem}.pulses.{fmt}",
                 "signal": folder / f"{stem}{SUFFIXES['signal']}",
                 "info": folder / f"{stem}{SUFFIXES['info']}"}
        write_table(paths["signal"], pd.DataFrame({"signal": self.signal}), "parquet")
        write_table(paths["pulses"], self.pulses, fmt)
        tm = self.template
        info = dict(self.info, fs=self.fs, pulses_file=paths["pulses"].name,
                    signal_file=paths["signal"].name,
                    template=dict(tm.to_dict(), x=tm.x.tolist(), y=tm.y.tolist(),
                                  criteria=tm.criteria.to_dict(orient="list")))
        write_text(paths["info"], json.dumps(jsonable(info), indent=1))
        return paths

    @classmethod
    def load(cls, path):
        """Read a PulseFit written by :meth:`save`: its ``.pulses.json``, or a folder
        holding exactly one."""
        path = Path(path)
        if path.is_dir():
            found = sorted(path.glob(f"*{SUFFIXES['info']}"))
            if len(found) != 1:
                raise ValueError(f"{path}: expected one *{SUFFIXES['info']}, found "
                                 f"{len(found)}; give the file to load")
            path = found[0]
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: give the *{SUFFIXES['info']} written "
                                    "by PulseFit.save, or its folder")
        info = json.loads(path.read_text())
        tf = path.parent / info["pulses_file"]
        pulses = pd.read_parquet(tf) if tf.suffix == ".parquet" else pd.read_csv(tf)
        pulses["reason"] = pulses["reason"].fillna("").astype(str)
        signal = pd.read_parquet(path.parent / info["signal_file"])["signal"].to_numpy()
        t = info.pop("template")
        x, y = np.asarray(t["x"], float), np.asarray(t["y"], float)
        se = np.array([np.nan if v is None else v for v in t["stderr"]], float)
        crit = pd.DataFrame(t["criteria"])
        template = Decomposition(x, y, np.ones_like(y), np.asarray(t["params"], float), se,
                                 t["shape"], t["baseline"], t["criterion"], crit)
        return cls(pulses, template, info, signal, float(info["fs"]))
