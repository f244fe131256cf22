"""Several leads of one record: fitted on shared R peaks, read as one heart.

A P wave too small to see in one lead is often plain in another (the QT Database's
experts marked P looking at both leads).  :func:`fit_leads` fits every lead with the
R peaks of the primary lead and reports, per beat, each wave (P, QRS, T) from the
primary lead where that lead shows it, and otherwise from the lead where it stands
out most (largest amplitude over the beat's RMSE).  A wave no lead shows stays absent.

Where the primary lead and the lead showing the T wave most strongly put its peak more
than ``DISAGREE_S`` apart, one of them has fitted something else as T (a late U wave,
say): T is read from the one whose peak lies nearer its typical place
(:data:`~gmesa.ecg.waves.TYPICAL_BEAT`, scaled by the square root of the median RR).
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._atomic import check_table_format, jsonable, write_table, write_text
from .fiducials import intervals
from .fit import fit_record
from .io import Record, lead_index, named_ecg_leads, rhythm_lead_index
from .joint_edges import spread_out
from .options import FitOptions
from .plausible import lead_is_ecg
from .presence import consistent_p
from .spatial import add_spatial
from .result import AMPLITUDE_WAVES, FIDUCIAL_COLUMNS, INTERVAL_COLUMNS, RecordFit
from .waves import typical_vector, wave_layout
from .._warn import warn


def _column(beats, name):
    """Column ``name`` of a beats table as floats, NaN when the table has none."""
    return beats[name].to_numpy(dtype=float) if name in beats else np.full(len(beats), np.nan)


#: wave group -> (its fiducial columns, the amplitude column that measures it)
GROUPS = {
    "P": (("P_on_s", "P_peak_s", "P_off_s"), "P_amplitude"),
    "QRS": (("QRS_on_s", "QRS_peak_s", "QRS_off_s"), "R_amplitude"),
    "T": (("T_on_s", "T_peak_s", "T_off_s"), "T_amplitude"),
}


#: two leads whose T peaks lie further apart than this (s) disagree on the T wave
DISAGREE_S = 0.100

#: ``boundaries="pooled"``: the SD (s) of the leads' own readings of each boundary about
#: the common edge, with which the median of L leads' readings is moved out to where the
#: extreme of their marks lies (:func:`~gmesa.ecg.joint_edges.spread_out`).  Calibrated
#: on the 80 LUDB odd records against the global marks over the 12 leads
#: (benchmarks/pooled_spread.py): the median's mean error, +14.2, -10.9, +13.2, -15.4,
#: +39.4, -31.2 ms, over the mean ``expected_max`` of the leads pooled
POOLED_SPREAD = {"P_on": 0.00903, "P_off": 0.00696, "QRS_on": 0.00808, "QRS_off": 0.00943,
                 "T_on": 0.02506, "T_off": 0.01983}

#: the ways :func:`combine` reads a beat's boundaries from the leads
BOUNDARIES = ("picked", "pooled")


@dataclass
class LeadsFit:
    """Result of :func:`fit_leads`.

    ``beats``: one row per beat: ``r_peak_s``, ``rr_s``, the fiducials ``*_s`` (s from
    the record start, NaN where no lead shows the wave), ``P_lead``/``QRS_lead``/
    ``T_lead`` (the lead each came from, "" where absent), ``P_present``/``T_present``,
    the intervals (ms), each wave's amplitude in every lead ``{wave}_amplitude_{lead}``
    (mV), where some lead modelled an R' the leads whose QRS is fragmented and the
    clinical criterion (``QRS_fragmented_leads``, ``fQRS``: :func:`fragmented_leads`),
    the primary lead's ``status``/``reason`` and, where the leads allow an
    orthogonal frame (Frank vx, vy, vz or V1-V6, I, II), the spatial QRS and T
    directions and the QRS-T angle (:data:`~gmesa.ecg.spatial.SPATIAL_COLUMNS`, added
    when the LeadsFit is made; see :mod:`gmesa.ecg.spatial`).
    ``fits``: lead name -> :class:`RecordFit` of that lead; ``primary``: the lead
    whose R peaks all leads share and whose waves come first.  With the joint model
    (``info["joint"]`` True) ``beats`` holds the global boundaries, presence across
    the leads, ``{wave}_amplitude_{lead}``, ``rmse_{lead}``, ``prd_{lead}`` instead of
    the ``*_lead`` columns, and each of ``fits`` is the joint model seen in that lead
    (docs/joint.md).  With ``boundaries="pooled"`` (``info["boundaries"]``) the onsets
    and offsets are pooled over the leads and ``{wave}_n_leads`` says over how many
    (:func:`combine`).
    """
    beats: pd.DataFrame
    fits: dict
    primary: str
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        try:
            add_spatial(self)
        except (ValueError, KeyError) as exc:  # a fit the frame cannot read: say so
            warn(f"LeadsFit: no spatial directions: {exc}")

    def __len__(self):
        return len(self.beats)

    def save(self, folder, stem=None, fmt="parquet"):
        """Write ``{stem}.leads.{parquet|csv}``, ``{stem}.leads.json`` and every lead's
        :meth:`RecordFit.save` (stem ``{stem}.{lead}``) into ``folder``; return the paths
        (``beats``, ``info``, and ``leads``: lead name -> that lead's paths)."""
        check_table_format(fmt)
        stem = stem or self.info.get("record", "record")
        leads = {lead: fit.save(folder, stem=lead_stem(stem, lead), fmt=fmt)
                 for lead, fit in self.fits.items()}
        return self.save_table(folder, stem, leads, fmt)

    def save_table(self, folder, stem, lead_paths, fmt="parquet"):
        """Write the table of all leads and ``{stem}.leads.json`` (last: it marks the
        result complete) for leads already saved at ``lead_paths`` (lead name -> the
        paths :meth:`RecordFit.save` returned); return the paths as :meth:`save` does."""
        folder = Path(folder)
        paths = {"beats": folder / f"{stem}.leads.{fmt}", "info": folder / f"{stem}.leads.json"}
        write_table(paths["beats"], self.beats, fmt)
        paths["leads"] = dict(lead_paths)
        info = dict(self.info, primary=self.primary, beats_file=paths["beats"].name,
                    lead_files={lead: p["info"].name for lead, p in paths["leads"].items()})
        write_text(paths["info"], json.dumps(jsonable(info), indent=1))
        return paths

    @classmethod
    def load(cls, path):
        """Read a result written by :meth:`save` (path to its ``.leads.json``)."""
        path = Path(path)
        if not path.name.endswith(".leads.json"):
            raise ValueError(f"{path}: give the .leads.json written by LeadsFit.save")
        info = json.loads(path.read_text())
        folder = path.parent
        bf = folder / info.pop("beats_file")
        beats = pd.read_parquet(bf) if bf.suffix == ".parquet" else pd.read_csv(bf)
        files = info.pop("lead_files")
        fits = {lead: RecordFit.load(folder / name) for lead, name in files.items()}
        return cls(beats, fits, info.pop("primary"), info)


def lead_stem(stem, lead):
    """The file stem of one lead's result: ``{stem}.{lead}``, the lead name reduced to
    letters, digits, - and _."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in str(lead)) or "lead"
    return f"{stem}.{safe}"


def check_boundaries(boundaries):
    """Raise a ValueError naming :data:`BOUNDARIES` unless ``boundaries`` is one."""
    if boundaries not in BOUNDARIES:
        raise ValueError(f"boundaries={boundaries!r}: give one of {BOUNDARIES}")


def combine(fits, primary, boundaries="picked", p_window=FitOptions.p_window_s,
            spread=None):
    """The per-beat table of :class:`LeadsFit` from fits of the same beats in several
    leads (lead name -> :class:`RecordFit`, the same R peaks in each).  ``boundaries``:
    "picked", each wave's onset, peak and offset from the one lead it is read from (the
    module docstring); "pooled", its peak from that lead and its onset and offset the
    median of the readings of the leads that show it with a peak within
    :data:`DISAGREE_S` of that lead's, moved out to where the earliest onset and the
    latest offset of that many leads' marks lie (:data:`POOLED_SPREAD`): the leads'
    independent errors average out (``{wave}_n_leads``: how many were pooled).  Pooled,
    a P wave shown by any lead must also keep its usual place over the beats
    (:func:`~gmesa.ecg.presence.consistent_p`, on the picked lead's P peak, within
    ``p_window`` s): P waves found in different leads of different beats are not a P
    rhythm.  ``spread``: the pooled readings' spreads (default :data:`POOLED_SPREAD`)."""
    check_boundaries(boundaries)
    names = list(fits)
    base = fits[primary].beats
    n = len(base)
    for lead in names:
        if len(fits[lead].beats) != n:
            raise ValueError(f"lead {lead!r} has {len(fits[lead].beats)} beats, the primary "
                             f"lead {primary!r} {n}: fit every lead on the same R peaks")
    out = {"beat": np.arange(n), "r_peak_s": base["r_peak_s"].to_numpy(),
           "rr_s": base["rr_s"].to_numpy(dtype=float)}
    first = names.index(primary)
    beats = np.arange(n)
    rr = float(np.nanmedian(out["rr_s"])) if np.isfinite(out["rr_s"]).any() else 1.0
    for group, (cols, amp) in GROUPS.items():
        values = np.stack([[fits[lead].beats[c].to_numpy(dtype=float) for c in cols]
                           for lead in names])                       # (leads, cols, beats)
        shown = np.isfinite(values[:, 1, :])    # (leads, beats): the lead has the peak
        with np.errstate(invalid="ignore", divide="ignore"):
            strength = np.stack([np.abs(_column(fits[lead].beats, amp))
                                 / fits[lead].beats["rmse"].to_numpy(dtype=float)
                                 for lead in names])   # NaN for a wave not modelled
        strength = np.where(shown & np.isfinite(strength), strength, -np.inf)
        strongest = np.argmax(strength, axis=0)
        by_strength = strength.copy()
        strength[first] = np.where(shown[first], np.inf, -np.inf)    # primary lead first
        pick = np.argmax(strength, axis=0)
        if group == "T":  # leads that disagree: the peak nearer the wave's usual place
            peak = values[:, 1, :]
            usual = out["r_peak_s"] + _typical_center(group, rr)
            apart = np.abs(peak[pick, beats] - peak[strongest, beats]) > DISAGREE_S
            nearer = (np.abs(peak[strongest, beats] - usual)
                      < np.abs(peak[pick, beats] - usual))
            pick = np.where(apart & nearer, strongest, pick)
        has = shown.any(axis=0)
        if boundaries == "pooled" and group == "P":  # one P place for the leads' P waves
            has = consistent_p(values[pick, 1, beats] - out["r_peak_s"], has, out["rr_s"],
                               p_window, n_fitted=int(np.sum(base["status"] == "ok")))[0]
        with np.errstate(invalid="ignore"):
            near = shown & (np.abs(values[:, 1, :] - values[pick, 1, beats]) <= DISAGREE_S)
        for j, c in enumerate(cols):
            src = pick if j == 1 else _edge_lead(values[:, j, :], near, pick, by_strength)
            out[c] = np.where(has, values[src, j, beats], np.nan)
            if j != 1:  # the uncertainty of the lead the edge is read from
                sd_col = f"{group}_{('on', None, 'off')[j]}_sd_ms"
                sd = np.stack([_column(fits[lead].beats, sd_col) for lead in names])
                out[sd_col] = np.where(has, sd[src, beats], np.nan)
        if boundaries == "pooled":
            pool(out, group, cols, values, near & has,
                 POOLED_SPREAD if spread is None else spread)
        out[f"{group}_lead"] = np.where(has, np.asarray(names, dtype=object)[pick], "")
        if group != "QRS":
            out[f"{group}_present"] = has
    fid = {c[:-2]: out[c] for c in FIDUCIAL_COLUMNS}
    out.update(intervals(fid, out["rr_s"]))
    amps = {f"{w}_amplitude_{lead}": fits[lead].beats[f"{w}_amplitude"].to_numpy(dtype=float)
            for lead in names for w in AMPLITUDE_WAVES if f"{w}_amplitude" in fits[lead].beats}
    out.update(amps)
    frag = fragmented_leads(fits, n)
    out.update(frag)
    out["status"] = base["status"].to_numpy()
    out["reason"] = base["reason"].to_numpy()
    cols = (["beat", "r_peak_s", "rr_s"] + list(FIDUCIAL_COLUMNS)
            + [f"{g}_{e}_sd_ms" for g in GROUPS for e in ("on", "off")]
            + ["P_lead", "QRS_lead", "T_lead", "P_present", "T_present"]
            + ([f"{g}_n_leads" for g in GROUPS] if boundaries == "pooled" else [])
            + list(INTERVAL_COLUMNS) + list(amps) + list(frag) + ["status", "reason"])
    return pd.DataFrame(out)[cols]


#: the leads of each coronary territory, any two of which showing a fragmented QRS make
#: the clinical criterion (Das et al., Circulation 2006: fQRS in two contiguous leads of
#: a major coronary artery territory)
TERRITORIES = {"anterior": ("V1", "V2", "V3", "V4", "V5"),
               "lateral": ("I", "AVL", "V6"),
               "inferior": ("II", "III", "AVF")}


def fragmented_leads(fits, n):
    """Per beat (``n``), from the leads' fits (lead name -> :class:`RecordFit`) where some
    modelled an R' (``QRS_fragmented``; none: {}): :func:`fragmented`."""
    return fragmented({lead: fits[lead].beats["QRS_fragmented"].to_numpy(dtype=bool)
                       for lead in fits if "QRS_fragmented" in fits[lead].beats}, n)


def fragmented(frag, n):
    """Per beat (``n``), from lead name -> where its QRS is fragmented (bool per beat;
    none: {}): ``QRS_fragmented_leads``, the leads whose QRS is fragmented
    (comma-separated, "" for none), and ``fQRS``, two of them in one coronary territory
    (:data:`TERRITORIES`, by the standard lead names, any case)."""
    if not frag:
        return {}
    names = list(frag)
    hit = np.stack([frag[lead] for lead in names])                     # (leads, beats)
    listed = np.array([",".join(name for name, h in zip(names, col) if h) for col in hit.T],
                      dtype=object)
    upper = [str(name).upper() for name in names]
    two = np.zeros(n, dtype=bool)
    for leads in TERRITORIES.values():
        rows = [i for i, name in enumerate(upper) if name in leads]
        if len(rows) >= 2:
            two |= hit[rows].sum(axis=0) >= 2
    return {"QRS_fragmented_leads": listed, "fQRS": two}


def _edge_lead(edge, near, pick, strength):
    """Per beat, the lead an edge (``edge`` (leads, beats), s; NaN where a lead withholds
    it, as a T off the window cuts) is read from: the picked lead ``pick`` where it has
    the edge, else the strongest (``strength``) of the leads ``near`` it that have it."""
    beats = np.arange(edge.shape[1])
    has = near & np.isfinite(edge)
    alt = np.argmax(np.where(has, strength, -np.inf), axis=0)
    return np.where(has[pick, beats] | ~has.any(axis=0), pick, alt)


def pool(out, group, cols, values, near, spread):
    """``boundaries="pooled"`` for one wave ``group`` (:func:`combine`), in ``out``:
    ``values`` (leads, 3, beats) the leads' onset, peak, offset (s), ``near`` the leads
    that show the wave with a peak within :data:`DISAGREE_S` of the picked lead's,
    ``spread`` as :data:`POOLED_SPREAD`.  Each edge is pooled over those of them that
    have it.  The onset and offset SD columns become the standard error of the pooled
    leads' mean (NaN for one lead)."""
    for j, side in ((0, 0), (2, 1)):  # a lead may show the wave but withhold one edge
        out[cols[j]], edge, n = pooled_edge(values[:, j, :], near, group, side, spread)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # beats no lead shows: NaN
            sem = np.nanstd(edge, axis=0, ddof=1) / np.sqrt(n) * 1000.0
        out[f"{group}_{('on', 'off')[side]}_sd_ms"] = sem
    out[f"{group}_n_leads"] = np.sum(near, axis=0)


def pooled_edge(values, use, group, side, spread=None):
    """One pooled edge: the median of ``values`` (leads, beats; s) over the leads ``use``
    that have it, moved out to where the extreme of that many leads' marks lies
    (:func:`~gmesa.ecg.joint_edges.spread_out`, ``side`` 0 an onset, 1 an offset of
    ``group``; ``spread`` default :data:`POOLED_SPREAD`).  Returns (edge s, the values
    pooled (NaN elsewhere), the number of leads pooled)."""
    edge = np.where(use, values, np.nan)
    n = np.sum(np.isfinite(edge), axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # beats no lead shows: NaN
        mid = np.nanmedian(edge, axis=0)
    spread = POOLED_SPREAD if spread is None else spread
    return spread_out(mid, mid, group, n, spread)[side], edge, n


def _typical_center(wave, rr):
    """The typical center (s from R) of ``wave`` at RR interval ``rr`` (s)."""
    return float(typical_vector((wave,), rr)[wave_layout((wave,)).index(wave, "center")])


def fit_leads(record, leads=None, *, primary=None, rpeaks=None, joint=True,
              boundaries="picked", **options):
    """Fit several leads of ``record`` on shared R peaks: by default with the joint
    model (every wave's timing shared by the leads, :mod:`gmesa.ecg.joint`), with
    ``joint=False`` each lead on its own, each beat's waves read from the lead that
    shows them (see the module docstring).

    Parameters
    ----------
    record : :class:`~gmesa.ecg.io.Record` with one or more leads.
    leads : lead names or indices to fit (default: every lead that may be an ECG by its
        name and unit, so ABP, PLETH or RESP are left out, and of those only the ones with
        ECG lead names when some have them, with a warning naming the others; all leads
        when none may be).
    primary : the lead whose R peaks every lead shares and whose waves are reported
        where it shows them (default: lead II or MLII when among ``leads``, else the
        first whose name looks like an ECG lead).
    rpeaks : None (detect on the primary lead), ``"annotations"`` or sample indices.
    joint : fit the leads jointly (default).  ``beats`` then holds the global
        boundaries (P, T: earliest onset, latest offset over the leads showing the
        wave; QRS: from one spatial curve of the leads, docs/joint.md), the
        intervals from them, ``{wave}_amplitude_{lead}``, ``rmse_{lead}``/``prd_{lead}``
        and presence decided across the leads; ``fits`` each lead's view of the joint
        model; ``info["joint"]`` is True.
    boundaries : with ``joint=False``, how each beat's onsets and offsets are read from
        the leads' own fits: "picked" (from the one lead each wave is read from) or
        "pooled" (the median over the leads that show it, moved out to the global
        extreme: :func:`combine`).
    **options : passed to :func:`fit_record` for every lead.

    Returns :class:`LeadsFit`.  A lead other than the primary that cannot be fitted (no
    finite samples, say) is left out with a warning; ``info["skipped_leads"]`` holds
    the reason.
    """
    if not isinstance(record, Record):
        raise TypeError(f"record must be a gmesa.ecg.Record, got {type(record).__name__}; "
                        "use read_record(path) or Record(signal, fs)")
    given = primary
    chosen, primary = choose_leads(list(record.leads), leads, primary, record.path,
                                   units=record.units)
    if given is None and rpeaks is None:
        primary = ecg_primary(lambda lead: record, chosen, primary)
    return fit_each_lead(lambda lead: record, chosen, primary, rpeaks=rpeaks, joint=joint,
                         boundaries=boundaries, **options)


def no_beats(first, primary):
    """Refuse a primary lead whose fit (``first``) found no beat: it sets every lead's R
    peaks (it raised a KeyError deep inside)."""
    if len(first.beats) == 0:
        why = first.info.get("warning", "no beats detected")
        raise ValueError(f"{first.info.get('record')}: the primary lead {primary!r} gives no "
                         f"beats ({why}): choose another primary (primary=..., command line "
                         "--lead NAME), or leave it to the default")


def ecg_primary(read, chosen, primary):
    """``primary``, or where that lead shows no ECG (a lead-off line, noise:
    :func:`~gmesa.ecg.plausible.lead_is_ecg`) the first other lead of ``chosen`` that
    does, with a warning (``read(name)`` returns a Record holding lead ``name``);
    ``primary`` when none does.  The primary lead sets every lead's R peaks."""
    def shows_ecg(lead):
        rec = read(lead)
        return lead_is_ecg(rec.lead(rec.lead_index(lead)), float(rec.fs))
    if shows_ecg(primary):
        return primary
    for lead in chosen:
        if lead != primary and shows_ecg(lead):
            warn(f"fit_leads: lead {primary!r} shows no ECG (no beats, or beats that "
                 f"share no QRS-led shape); lead {lead!r} sets the R peaks instead")
            return lead
    return primary


def choose_leads(names, leads=None, primary=None, path=None, units=None):
    """(the leads to fit, the primary lead) among a record's lead ``names``, as
    :func:`fit_leads` takes them: ``leads`` names or indices (default: the leads that may
    be ECG by name and ``units``, else all; of those, when some have ECG lead names (II,
    V1, MLII, "ECG"...), only those, with a warning naming the others: a voltage signal
    with another name, an EEG derivation or a test signal, would join a joint model of
    the heart's leads), ``primary``
    a name or index (default lead II or MLII, else the first ECG-like lead of ``leads``;
    added to them if missing).  An unknown lead raises :class:`~gmesa.ecg.RecordError` naming the
    record's leads (``path`` names the file)."""
    names = list(names)
    if leads is None:
        named, others = named_ecg_leads(names, units)
        leads = named or others or names
        if named and others:
            warn(f"fit_leads: leads {others} left out: the record names its ECG "
                 f"leads ({', '.join(named)}) and these names are not ECG lead "
                 "names; pass leads=[...] (command line: --leads NAME,NAME) to "
                 "fit them")
    chosen = [names[lead_index(names, x, path)] for x in leads]
    chosen = list(dict.fromkeys(chosen))  # unique, in order
    if not chosen:
        raise ValueError("leads is empty: give at least one lead name or index")
    if primary is None:
        primary = chosen[rhythm_lead_index(chosen)]
    else:
        primary = names[lead_index(names, primary, path)]
        if primary not in chosen:
            chosen.insert(0, primary)
    return chosen, primary


def fit_each_lead(read, leads, primary, *, rpeaks=None, keep=None, joint=False,
                  boundaries="picked", **options):
    """:func:`fit_leads` for a record read lead by lead: ``read(name)`` returns a
    :class:`~gmesa.ecg.io.Record` holding lead ``name`` (it may hold others too);
    ``leads`` are names, ``primary`` among them.  ``keep(name, fit)``, called as soon
    as a lead is fitted, returns what the result keeps of it (say, once the fit is
    saved, a copy without its signal): a long record of many leads then needs the
    memory of about one lead at a time (``joint=True``: the joint model, every lead's
    cleaned signal held at once, float32).  ``boundaries``: as :func:`combine` reads
    them (``joint=False`` only; "pooled" fits each lead with ``signal_onset=False`` and
    ``r_prime=False`` unless told otherwise, see :class:`~gmesa.ecg.options.FitOptions`).
    Returns
    :class:`LeadsFit`."""
    check_boundaries(boundaries)
    if joint and boundaries != "picked":
        raise ValueError(f"boundaries={boundaries!r} reads the leads' own fits: give "
                         "joint=False with it (the joint model reads global boundaries "
                         "of its own)")
    keep = keep or (lambda lead, fit: fit)
    if joint:
        from .joint import fit_joint  # joint.py builds on this module's neighbours
        table, fits, info = fit_joint(read, leads, primary, rpeaks=rpeaks, keep=keep,
                                      **options)  # one lead at a time: a kept one's signal can go
        if table is not None:
            return LeadsFit(table, fits, primary, info)
        warn(f"{info['record']}: no median beat for the joint template; the "
             "leads are fitted one by one")
    if boundaries == "pooled":  # the other leads overrule one that misfits its QRS
        options.setdefault("signal_onset", False)
        options.setdefault("r_prime", False)
    record = read(primary)
    first = fit_record(record, primary, rpeaks=rpeaks, **options)
    no_beats(first, primary)
    r = np.round(first.beats["r_peak_s"].to_numpy(dtype=float)
                 * float(record.fs)).astype(np.int64)
    name, rpeak_source = record.name, first.info["rpeaks"]
    del record
    fits = {primary: keep(primary, first)}
    del first
    skipped = {}
    for lead in leads:
        if lead != primary:
            try:
                fits[lead] = keep(lead, fit_record(read(lead), lead, rpeaks=r, **options))
            except ValueError as exc:  # e.g. a lead without signal: the others go on
                skipped[lead] = str(exc)
                warn(f"fit_leads: lead {lead!r} skipped: {exc}")
    fits = {lead: fits[lead] for lead in leads if lead in fits}
    info = {"record": name, "primary": primary, "leads": list(fits),
            "skipped_leads": skipped, "rpeaks": rpeak_source, "n_beats": len(r)}
    info["boundaries"] = boundaries
    table = combine(fits, primary, boundaries,
                    options.get("p_window_s", FitOptions.p_window_s))
    return LeadsFit(table, fits, primary, info)
