"""What ``gmesa fit`` and ``gmesa batch`` print, and their exit codes (see
:mod:`gmesa.cli` and ``docs/batch.md``)."""
from __future__ import annotations

import math

import click
import numpy as np

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_OUTPUT, EXIT_NO_OK_BEAT = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130

#: the exit codes of ``gmesa`` and ``gmesa batch``, as their ``--help`` shows them
EXIT_CODES = """\b
Exit codes:
  0    every input was fitted with at least one beat ok (or skipped: already done)
  1    some inputs failed or gave no beat fitted ok (counts printed; reasons in
       OUT/log.jsonl and OUT/index.csv); the others have results
  2    bad command line (a one-line error says how to fix it)
  3    the output folder is locked by another gmesa batch, or cannot be created
       or written; nothing was fitted
  4    no beat fitted ok: the inputs that could be read gave none (no beat, or
       every beat rejected) and no input gave one; every input failing is 1
  130  interrupted (Ctrl-C); run the same command again to resume"""

#: the exit codes of ``gmesa fit``
FIT_EXIT_CODES = """\b
Exit codes:
  0  fitted, at least one beat ok
  1  the record could not be read or fitted (the reason is printed)
  2  bad command line
  3  --out cannot be created or written
  4  the record was fitted but no beat was fitted ok: no beat detected, or every
     beat rejected (the reason is printed; the tables are written when there
     are beats)"""


def fmt_num(v, unit="", digits=1):
    """``v`` with ``digits`` decimals and ``unit``; "-" for None or NaN."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:.{digits}f}{unit}"


def table(pairs):
    """(label, value) pairs as an indented two-column table."""
    width = max(len(k) for k, _ in pairs)
    return "\n".join(f"  {k:<{width}}  {v}" for k, v in pairs)


def interval_rows(summary):
    """(label, value) rows of the median intervals (ms) of :func:`gmesa.batch.summarize`;
    with the fit in ``summary["fit"]``, an interval fewer than 90% of the ok beats report
    (a PR where P on is withheld, say) says over how many it is the median, and one whose
    boundaries carry the learned map's SD (``*_sd_ms``) gives one beat's uncertainty:
    the median over the beats of sqrt(SD_on^2 + SD_off^2), "+-x" (an inverted T's end,
    say, makes a QT uncertain by some 60 ms)."""
    from .ecg.fiducials import INTERVAL_ENDS  # only with a fit: the CLI starts without it

    fit = summary.get("fit")
    ok = None if fit is None else fit.beats[fit.beats["status"] == "ok"]
    rows = []
    for name, key in (("RR", "rr"), ("PR", "pr"), ("QRS", "qrs"), ("QT", "qt"), ("QTc", "qtc")):
        value = fmt_num(summary[f"median_{key}_ms"], " ms", 0)
        if ok is not None and f"{key}_ms" in ok and value != "-":
            has = np.isfinite(ok[f"{key}_ms"].to_numpy(dtype=float))
            ends = [f"{b}_sd_ms" for b in INTERVAL_ENDS.get(f"{key}_ms", ())]
            if ends and all(c in ok for c in ends) and has.any():
                sd = np.hypot(*(ok[c].to_numpy(dtype=float)[has] for c in ends))
                if np.isfinite(sd).any():
                    value += f" ±{np.nanmedian(sd):.0f}"
            k = int(has.sum())
            if k < 0.9 * len(ok):
                value += f" ({k:,} of {len(ok):,} ok beats)"
        rows.append((f"median {name}", value))
    return rows


def _ok_fit(summary):
    """The fit in ``summary["fit"]`` when a beat was fitted ok (``summary["n_ok"]``), else
    None: the summary lines read off it say nothing of a record without an ok beat."""
    return summary.get("fit") if summary.get("n_ok") else None


#: a boundary whose template reading moves this much (ms) between halves of the beats is
#: named in the summary (it is in every beat's SD either way; display only)
SPREAD_SHOWN_MS = 10.0


def spread_rows(summary):
    """A "template split" line naming the boundaries whose template reading moves at
    least :data:`SPREAD_SHOWN_MS` between the halves of the beats
    (``info["template_spread_ms"]`` of the fit in ``summary["fit"]``; none, or no beat
    fitted ok (``summary["n_ok"]``): no line)."""
    fit = _ok_fit(summary)
    spread = (getattr(fit, "info", None) or {}).get("template_spread_ms") or {}
    big = sorted(((v, b) for b, v in spread.items() if v >= SPREAD_SHOWN_MS), reverse=True)
    if not big:
        return []
    names = ", ".join(f"{b.replace('_', ' ')} {v:.0f} ms" for v, b in big)
    return [("template split", f"{names} between halves of the beats (in the ± above)")]


_T_WORDS = {"upright": "T upright", "inverted": "T inverted",
            "free": "T of either sign (the beats were unsure)"}


def _model_words(choice):
    """One stretch's model (``hypothesis`` of :func:`gmesa.ecg.choice.choose_model`'s
    summary) in words, e.g. "T inverted with a terminal lobe, U wave"."""
    h = choice.get("hypothesis") or {}
    words = ["no P wave"] if h.get("P") == "absent" else []
    if h.get("T") in _T_WORDS:
        words.append(_T_WORDS[h["T"]] + (" with a terminal lobe" if h.get("T2") else ""))
    if h.get("U"):
        words.append("U wave")
    if h.get("R2"):
        words.append("R' (fragmented QRS)")
    return ", ".join(words)


def _clock(seconds):
    """``seconds`` as h:mm:ss."""
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def model_rows(summary):
    """A "model" line: the waves the record's beats chose (``info["model_choice"]`` of the
    fit in ``summary["fit"]``), each stretch of rhythm with its times where the record has
    several (a T that inverts in a long record, say); no choice or no beat ok: no line."""
    fit = _ok_fit(summary)
    choice = (getattr(fit, "info", None) or {}).get("model_choice")
    if not choice:
        return []
    parts = choice.get("stretches") or [choice]
    if len(parts) == 1:
        text = _model_words(parts[0])
    else:
        text = "; ".join(f"{_model_words(c)} ({_clock(c['start_s'])}-{_clock(c['end_s'])})"
                         for c in parts)
    return [("model", text)] if text else []


#: the heights measured on the fitted beats that the summary gives (column, label)
HEIGHT_ROWS = (("t_height_mv", "median T height"), ("st_j60_mv", "median ST J+60"))


def height_rows(summary):
    """Median T height and ST level at J+60 ms (mV) over the ok beats of the fit in
    ``summary["fit"]`` (:mod:`gmesa.ecg.heights`); a column the table lacks, or no ok
    beat: no line."""
    fit = _ok_fit(summary)
    beats = getattr(fit, "beats", None)
    if beats is None or "status" not in beats:
        return []
    ok = beats[beats["status"] == "ok"]
    rows = []
    for col, label in HEIGHT_ROWS:
        v = ok[col].to_numpy(dtype=float) if col in ok else np.zeros(0)
        if np.isfinite(v).any():
            rows.append((label, f"{np.nanmedian(v):+.3f} mV"))
    return rows


def misfit_rows(summary):
    """A "fragmented QRS" line where the record's model has an R' (``QRS_fragmented``),
    and a "QRS misfit" line where some ok beats' QRS PRD is above
    :data:`~gmesa.ecg.beatmodel.QRS_MISFIT_PRD` (none, or no such column: no line)."""
    from .ecg.beatmodel import QRS_MISFIT_PRD

    fit = _ok_fit(summary)
    beats = getattr(fit, "beats", None)
    if beats is None or "QRS_prd" not in beats or "status" not in beats:
        return []
    ok = beats["status"] == "ok"
    rows = []
    if "QRS_fragmented" in beats:
        k = int(beats.loc[ok, "QRS_fragmented"].sum())
        rows.append(("fragmented QRS", f"{k} of {int(ok.sum())} ok beats (an R' modelled)"))
    v = beats.loc[ok, "QRS_prd"].to_numpy(dtype=float)
    n = int(np.sum(v > QRS_MISFIT_PRD))
    if not n:
        return rows
    return rows + [("QRS misfit", f"{n} of {v.size} ok beats (QRS PRD > {QRS_MISFIT_PRD:g}%; "
                                  f"median {np.nanmedian(v):.1f}%): part of the QRS not "
                                  "modelled (notched, fragmented?); QRS onset read off the "
                                  "signal where earlier")]


def overlap_rows(summary):
    """A "neighbours' waves" line where ok beats were fitted on the signal less their
    neighbours' P and T (a fast rate: :mod:`gmesa.ecg.overlap`; none: no line)."""
    beats = getattr(_ok_fit(summary), "beats", None)
    if beats is None or "neighbours_out" not in beats or "status" not in beats:
        return []
    ok = beats["status"] == "ok"
    k = int(beats.loc[ok, "neighbours_out"].sum())
    if not k:
        return []
    return [("neighbours' waves", f"taken out of {k} of {int(ok.sum())} ok beats (a fast "
                                  "rate: each T runs into the next P)")]


def paced_rows(row):
    """A "paced beats" line where pacemaker spikes were found (none: no line)."""
    n = row.get("n_paced")
    return [("paced beats", f"{n} (pacemaker spike before R)")] if n else []


def report_fit(row, out):
    """``gmesa fit``: the summary of one record's row of :func:`gmesa.batch.fit_one`."""
    n, n_ok = row["n_beats"], row["n_ok"]
    click.echo(f"{row['record']}: lead {row['lead']}, {row['fs']:g} Hz, "
               f"{row['duration_s']:.1f} s, fitted in {row['seconds']:.2f} s")
    click.echo(table([
        ("beats", f"{n}"),
        ("ok", f"{n_ok} ({100.0 * n_ok / n:.1f}%)" if n else "0"),
        ("median PRD", fmt_num(row["median_prd"], " %")),
    ] + model_rows(row) + paced_rows(row) + interval_rows(row) + height_rows(row)
        + misfit_rows(row) + overlap_rows(row) + spread_rows(row)))
    click.echo(f"wrote {out / row['beats_file']}, {row['signal_file']}, {row['info_file']}")
    if row.get("warnings"):
        click.echo(f"warnings: {row['warnings']}", err=True)


def report_stability(path, row, fs, threads, force_ecg):
    """``gmesa fit --stability``: the lead of ``row`` fitted again under tiny noise
    (:func:`gmesa.ecg.stability`, its fit without noise ``row["fit"]``), in words."""
    from .batch.reading import read_lead
    from .ecg import stability
    rec = read_lead(path, row["lead"], fs)
    opts = {"force_ecg": True} if force_ecg else {}
    click.echo(stability(rec, row["lead"], base=row["fit"], threads=threads, **opts).summary())


def report_leads(row, out):
    """``gmesa fit --leads``: the summary of a :class:`gmesa.ecg.LeadsFit`."""
    res = row["fit"]
    b = res.beats
    joint = bool(res.info.get("joint"))
    if joint:  # one model of all leads: presence decided across them
        shown = {w: f"{100 * np.mean(b[f'{w}_present']):.0f}% of beats (in any lead)"
                 for w in ("P", "T")}
    else:
        shown = {w: ", ".join(f"{lead} {100 * np.mean(b[f'{w}_lead'] == lead):.0f}%"
                              for lead in res.fits if np.any(b[f"{w}_lead"] == lead))
                 for w in ("P", "T")}
    click.echo(f"{row['record']}: leads {', '.join(res.fits)} (primary {res.primary}), "
               f"{row['fs']:g} Hz, {row['duration_s']:.1f} s, fitted in {row['seconds']:.2f} s")
    click.echo(table([
        ("model", "joint: wave timing shared by the leads" if joint else
         "each lead alone" + (", boundaries pooled over the leads"
                              if res.info.get("boundaries") == "pooled" else "")),
        ("beats", f"{row['n_beats']}"),
        ("ok", f"{row['n_ok']} ({100.0 * row['ok_fraction']:.1f}%)"
               + ("" if joint else f" in {res.primary}")),
        ("median PRD", fmt_num(row["median_prd"], f" % in {res.primary}")),
        ("P" if joint else "P from", shown["P"] or "-"),
        ("T" if joint else "T from", shown["T"] or "-"),
    ] + paced_rows(row) + interval_rows(row) + angle_rows(res) + fragmented_rows(res)))
    click.echo(f"wrote {out / row['beats_file']}, {row['info_file']} and {len(res.fits)} "
               "leads' tables")
    if row.get("warnings"):
        click.echo(f"warnings: {row['warnings']}", err=True)


def fragmented_rows(fit):
    """A "fragmented QRS" line for a several-lead fit ``fit`` where some lead modelled an
    R': each such lead with its share of the ok beats, and the share meeting the clinical
    criterion (``fQRS``, two leads of one territory); none: no line."""
    b = fit.beats
    if "QRS_fragmented_leads" not in b:
        return []
    ok = b.loc[b["status"] == "ok", "QRS_fragmented_leads"].astype(str)
    if ok.empty:
        return []
    shares = [(lead, float(np.mean([lead in v.split(",") for v in ok]))) for lead in fit.fits]
    named = ", ".join(f"{lead} {100 * v:.0f}%" for lead, v in shares if v > 0) or "none"
    crit = 100 * float(np.mean(b.loc[b["status"] == "ok", "fQRS"]))
    return [("fragmented QRS", f"{named}; fQRS (2 leads of one territory) in {crit:.0f}% of "
                               "ok beats")]


def angle_rows(fit):
    """The median spatial QRS-T angle (degrees) over the ok beats of a several-lead fit
    ``fit`` and the lead frame it was read in; no row when the leads give no frame."""
    b = fit.beats
    if "QRS_T_angle_deg" not in b:
        return []
    ok = b.loc[b["status"] == "ok", "QRS_T_angle_deg"].to_numpy(dtype=float)
    ok = ok[np.isfinite(ok)]
    if ok.size == 0:
        return [("QRS-T angle", "-")]
    frame = _FRAMES.get((fit.info.get("spatial") or {}).get("system"), "")
    return [("QRS-T angle", f"{np.median(ok):.0f}° median, spatial"
             + (f" ({frame})" if frame else "") + f", {ok.size:,} ok beats")]


_FRAMES = {"frank": "Frank leads vx, vy, vz", "dower": "12 leads by the inverse Dower matrix"}


def report_batch(summary):
    """``gmesa batch``: print the counts, index and problems of a :func:`fit_files`
    summary; return the exit code (0, 1 or 4)."""
    counts = summary["status"].value_counts()
    n_ok, n_skip, n_fail, n_none = (int(counts.get(k, 0))
                                    for k in ("ok", "skipped", "failed", "no_ok_beat"))
    n = len(summary)
    beats = int(summary.loc[summary["status"] != "failed", "n_beats"].fillna(0).sum())
    click.echo(f"{n} inputs: {n_ok} fitted, {n_skip} skipped (already done), {n_fail} failed, "
               f"{n_none} with no beat fitted ok; {beats:,} beats; "
               f"{summary.attrs['seconds']:.1f} s")
    click.echo(f"index: {summary.attrs['index']}  log: {summary.attrs['log']}")
    outcomes = summary.attrs["outcomes"]
    for _, r in summary[summary["status"] == "failed"].iterrows():
        click.echo(f"  failed: {r['reason']}", err=True)
    none_ok = (summary["status"] == "no_ok_beat") | \
        ((summary["status"] == "skipped") & (summary["n_ok"] == 0)).fillna(False)
    for _, r in summary[none_ok].iterrows():
        why = r["reason"] if r["status"] == "no_ok_beat" else f"{r['path']} (an earlier run)"
        click.echo(f"  no beat fitted ok: {why}", err=True)
    if outcomes["failed"]:
        click.echo(f"gmesa batch: {outcomes['failed']} of {n} inputs failed", err=True)
    if outcomes["no_ok_beat"]:
        click.echo(f"gmesa batch: {outcomes['no_ok_beat']} of {n} inputs gave no beat fitted ok",
                   err=True)
    if not outcomes["ok"] and outcomes["no_ok_beat"]:
        click.echo("gmesa batch: no input gave a beat fitted ok", err=True)
        return EXIT_NO_OK_BEAT
    return EXIT_FAILED if outcomes["failed"] or outcomes["no_ok_beat"] else EXIT_OK


def report_pulses(res, info, rate, duration_s, seconds):
    """Print the summary of a :class:`gmesa.PulseFit` of one channel (``info`` as
    :func:`~gmesa.decomp.pulse_io.read_pulse_signal` gives it; ``rate`` Hz,
    ``duration_s`` and ``seconds`` of fitting in s)."""
    s = res.summary()
    click.echo(f"{info['record']}: lead {info['lead']}, {rate:g} Hz, {duration_s:.1f} s, "
               f"fitted in {seconds:.2f} s" + (f" ({info['note']})" if info["note"] else ""))
    n = s["pulses"]
    unit = f" {info['unit']}" if info["unit"] else ""
    click.echo(table([
        ("pulses", f"{n}"),
        ("ok", f"{s['ok']} ({100.0 * s['ok'] / n:.1f}%)" if n else "0"),
        ("interpretable", f"{100.0 * s['interpretable']:.1f}%"),
        ("median PRD", fmt_num(s["median_prd"], " %", 2)),
        ("components", f"{s['components']} ({res.template.shape}, "
                       f"{res.template.criterion.upper()})"),
    ] + [(f"  {name}", f"center {r.center * 1e3:.0f} ms from the valley, amplitude "
                       f"{r.amplitude:.3g}{unit}, widths {r.sigma_left * 1e3:.0f}/"
                       f"{r.sigma_right * 1e3:.0f} ms")
         for name, r in res.template.table.iterrows()]))


def report_warnings(caught):
    """Print the data's warnings among ``caught`` (warnings.catch_warnings records) on one
    line, as a batch's row holds them (:func:`gmesa.batch.worker.data_warnings`)."""
    from .batch.worker import data_warnings
    said = data_warnings(caught)
    if said:
        click.echo("warnings: " + said)
