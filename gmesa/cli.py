"""The ``gmesa`` command: ``gmesa fit``, ``gmesa batch``, ``gmesa demo``, ``gmesa plot``.

A thin layer over the Python API (:func:`gmesa.batch.fit_files`,
:func:`gmesa.ecg.fit_record`): it parses, calls the API and prints.  Exit codes:
0 all inputs fitted, 1 one or more inputs failed (their count is printed), 2 a bad
command line (a one-line error that says how to fix it), 130 interrupted (Ctrl-C).
Run as ``gmesa ...`` or ``python -m gmesa.cli ...``.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import click
import numpy as np

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

EXIT_CODES = """\b
Exit codes:
  0    every input was fitted (or skipped: already done)
  1    one or more inputs failed: the count is printed, the reasons are
       in OUT/log.jsonl and OUT/index.csv
  2    bad command line (a one-line error says how to fix it)
  130  interrupted (Ctrl-C); run the same command again to resume"""

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class _Group(click.Group):
    """Usage errors as one line, ``gmesa batch: error: ... (see 'gmesa batch --help')``,
    exit 2; Ctrl-C exits 130 with one line."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True,
             **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(args, prog_name or "gmesa", complete_var,
                              standalone_mode=False, **extra)
        except click.UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError" and exc.ctx is not None:
                click.echo(exc.ctx.get_help(), err=True)
                sys.exit(EXIT_USAGE)
            cmd = exc.ctx.command_path if exc.ctx is not None else "gmesa"
            msg = " ".join(exc.format_message().split())
            click.echo(f"{cmd}: error: {msg} (see '{cmd} --help')", err=True)
            sys.exit(EXIT_USAGE)
        except click.ClickException as exc:
            click.echo(f"gmesa: error: {' '.join(exc.format_message().split())}", err=True)
            sys.exit(exc.exit_code)
        except (click.Abort, KeyboardInterrupt):
            click.echo("gmesa: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        sys.exit(rv if isinstance(rv, int) else EXIT_OK)


@click.group(name="gmesa", cls=_Group, context_settings=CONTEXT, epilog=EXIT_CODES)
@click.version_option(package_name="gmesa", prog_name="gmesa",
                      message="%(prog)s %(version)s")
def app():
    """gmesa: fit ECG beats as sums of Gaussian mesa functions.

    \b
      gmesa fit FILE            fit one record, print a summary, write its tables
      gmesa batch PATH... --out DIR
                                fit many records (folders, globs), resumable
      gmesa demo                the main job on bundled data: fit, table, figures
      gmesa plot RESULTS        figure of a fitted beat
    """


# ---------------------------------------------------------------------------------
# shared options
# ---------------------------------------------------------------------------------
def _lead_option(f):
    return click.option(
        "--lead", metavar="NAME",
        help="Lead to fit, by name (case-insensitive, e.g. MLII, II, V5) or index. "
             "Default: the first lead whose name looks like an ECG lead, else the "
             "first lead.")(f)


def _format_option(f):
    return click.option(
        "--format", "fmt", type=click.Choice(["parquet", "csv"], case_sensitive=False),
        default="parquet", show_default=True,
        help="File format of the per-beat tables.")(f)


def _fs_option(f):
    return click.option(
        "--fs", type=click.FloatRange(min=100.0), metavar="HZ",
        help="Sampling rate in Hz for files that carry none (CSV, TSV, TXT, NPY); "
             "WFDB and EDF files keep their own rate. At least 100 Hz.")(f)


def _lead_value(lead):
    if lead is None:
        return None
    s = lead.strip()
    if not s:
        raise click.BadParameter("give a lead name such as II or MLII, or an index",
                                 param_hint="'--lead'")
    return int(s) if s.lstrip("+-").isdigit() else s


def _fmt_num(v, unit="", digits=1):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:.{digits}f}{unit}"


def _interval_rows(summary):
    """(label, value) rows of the median intervals of :func:`gmesa.batch.summarize`."""
    return [(f"median {name}", _fmt_num(summary[f"median_{key}_ms"], " ms", 0))
            for name, key in (("RR", "rr"), ("PR", "pr"), ("QRS", "qrs"), ("QT", "qt"),
                              ("QTc", "qtc"))]


def _table(pairs):
    width = max(len(k) for k, _ in pairs)
    return "\n".join(f"  {k:<{width}}  {v}" for k, v in pairs)


_leads_option = click.option(
    "--leads", metavar="LIST",
    help="Fit several leads on shared R peaks ('all', or names/indices separated by commas) "
         "and read each wave from the lead that shows it; --lead is then the primary lead. "
         "Writes RECORD.leads.* and each lead's tables.")


def _leads_value(leads):
    """``--leads``: None, "all" or a list of lead names/indices."""
    if leads is None or leads.strip().lower() == "all":
        return None if leads is None else "all"
    return [_lead_value(x) for x in leads.split(",")]


# ---------------------------------------------------------------------------------
# gmesa fit
# ---------------------------------------------------------------------------------
@app.command("fit", context_settings=CONTEXT, epilog="""\b
Exit codes:
  0  fitted
  1  the record could not be fitted (the reason is printed)
  2  bad command line""")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE")
@_lead_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, metavar="DIR",
              help="Folder for RECORD.beats.*, RECORD.signal.parquet and RECORD.info.json "
                   "(and the figures); created if missing.")
@_format_option
@_fs_option
@click.option("--figures/--no-figures", default=False, show_default=True,
              help="Also write figures of the fit into --out (RECORD.beat.png, "
                   "RECORD.record.png, RECORD.template.png, RECORD.trends.png).")
@click.option("--threads", type=click.IntRange(min=1), metavar="N",
              help="Numba threads for the fit (default: all cores).")
@_leads_option
def fit_cmd(file, lead, out, fmt, fs, figures, threads, leads):
    """Fit one ECG record FILE (WFDB .hea/.dat, EDF/BDF, CSV/TSV, NPY) and print a summary.

    Writes one row per beat (wave parameters, fiducials, intervals, fit quality,
    status) to OUT/RECORD.beats.parquet (or .csv) and prints beats, beats fitted
    ok, the median PRD and the median RR, PR, QRS, QT and QTc intervals.
    """
    from .batch import _fit_one, _fingerprint, _safe_stem, _record_name

    lead_v = _lead_value(lead)
    if not file.exists() and not Path(str(file) + ".hea").is_file():
        raise click.BadParameter(f"{file} does not exist; give the path of a record file",
                                 param_hint="'FILE'")
    stem = _safe_stem(_record_name(file))
    out = out.expanduser()
    out.mkdir(parents=True, exist_ok=True)
    fmt = fmt.lower()
    leads_v = _leads_value(leads)
    if leads_v is not None and figures:
        raise click.BadParameter("figures are drawn per lead: fit one lead with --lead "
                                 "for them", param_hint="'--figures'")
    task = {"path": str(file), "record": stem, "lead": lead_v, "leads": leads_v, "fs": fs,
            "fmt": fmt, "fit_options": {},
            "fingerprint": _fingerprint(str(file), lead_v, fs, fmt, {}, leads_v),
            "out": str(out), "threads": threads, "warm_up": False,
            "return_fit": figures or leads_v is not None}
    row = _fit_one(task)
    if row["status"] != "ok":
        click.echo(f"gmesa fit: {row['reason']}", err=True)
        return EXIT_FAILED
    if leads_v is not None:
        return _report_leads(row, out)
    n, n_ok = row["n_beats"], row["n_ok"]
    click.echo(f"{stem}: lead {row['lead']}, {row['fs']:g} Hz, {row['duration_s']:.1f} s, "
               f"fitted in {row['seconds']:.2f} s")
    click.echo(_table([
        ("beats", f"{n}"),
        ("ok", f"{n_ok} ({100.0 * n_ok / n:.1f}%)" if n else "0"),
        ("median PRD", _fmt_num(row["median_prd"], " %")),
    ] + _interval_rows(row)))
    click.echo(f"wrote {out / row['beats_file']}, {row['signal_file']}, {row['info_file']}")
    if row.get("warnings"):
        click.echo(f"warnings: {row['warnings']}", err=True)
    if figures:
        try:
            from .demo import write_figures
        except ImportError as exc:
            click.echo(f"gmesa fit: figures skipped: gmesa.demo is not available ({exc})",
                       err=True)
        else:
            try:
                written = write_figures(row["_fit"], out, stem=stem)
            except Exception as exc:  # the tables are written; say what went wrong
                click.echo(f"gmesa fit: figures failed ({type(exc).__name__}: {exc})", err=True)
                return EXIT_FAILED
            for p in _paths(written):
                click.echo(f"wrote {p}")
    return EXIT_OK


def _report_leads(row, out):
    """``gmesa fit --leads``: the summary of a :class:`gmesa.ecg.LeadsFit`."""
    res = row["_fit"]
    b = res.beats
    shown = {w: ", ".join(f"{lead} {100 * np.mean(b[f'{w}_lead'] == lead):.0f}%"
                          for lead in res.fits if np.any(b[f"{w}_lead"] == lead))
             for w in ("P", "T")}
    click.echo(f"{row['record']}: leads {', '.join(res.fits)} (primary {res.primary}), "
               f"{row['fs']:g} Hz, {row['duration_s']:.1f} s, fitted in {row['seconds']:.2f} s")
    click.echo(_table([
        ("beats", f"{row['n_beats']}"),
        ("ok", f"{row['n_ok']} ({100.0 * row['ok_fraction']:.1f}%) in {res.primary}"),
        ("median PRD", _fmt_num(row["median_prd"], f" % in {res.primary}")),
        ("P from", shown["P"] or "-"),
        ("T from", shown["T"] or "-"),
    ] + _interval_rows(row)))
    click.echo(f"wrote {out / row['beats_file']}, {row['info_file']} and {len(res.fits)} "
               "leads' tables")
    if row.get("warnings"):
        click.echo(f"warnings: {row['warnings']}", err=True)
    return EXIT_OK


def _paths(obj):
    if obj is None:
        return []
    if isinstance(obj, dict):
        return [p for v in obj.values() for p in _paths(v)]
    if isinstance(obj, (list, tuple)):
        return [p for v in obj for p in _paths(v)]
    return [obj]


# ---------------------------------------------------------------------------------
# gmesa batch
# ---------------------------------------------------------------------------------
@app.command("batch", context_settings=CONTEXT, epilog=EXIT_CODES)
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              metavar="DIR",
              help="Output folder: one result set per record, index.parquet/index.csv "
                   "(every input's outcome) and log.jsonl (appended by every run).")
@click.option("--workers", type=click.IntRange(min=1), metavar="N",
              help="Local worker processes, each with one Numba thread "
                   "(default: the number of cores; 1 runs in this process).")
@click.option("--scheduler", metavar="ADDRESS",
              help="Send the records to a running Dask cluster, e.g. tcp://host:8786 "
                   "(workers need gmesa installed and the files on a shared filesystem).")
@click.option("--dask-local", type=click.IntRange(min=1), metavar="N",
              help="Start a local Dask cluster of N single-threaded worker processes.")
@click.option("--resume/--no-resume", default=True, show_default=True,
              help="Skip records whose complete results (same input, same options) are "
                   "already in --out; --no-resume fits and overwrites everything.")
@_lead_option
@_format_option
@_fs_option
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Show a progress bar (records, beats, ETA) on stderr.")
@_leads_option
def batch_cmd(paths, out, workers, scheduler, dask_local, resume, lead, fmt, fs, progress,
              leads):
    """Fit every record in PATH... (files, folders searched recursively, glob patterns).

    Folders contribute .hea (WFDB, with its .dat), .edf, .bdf, .csv, .tsv and .npy
    files. A file that cannot be fitted (missing, unreadable, truncated, no beats,
    all-NaN or missing lead ...) is reported with its reason; the others go on.
    Killed and started again with the same command, the batch skips finished
    records and ends with the output of an uninterrupted run.
    """
    from .batch import fit_files

    if scheduler is not None and dask_local is not None:
        raise click.UsageError("use --scheduler ADDRESS or --dask-local N, not both")
    if workers is not None and (scheduler is not None or dask_local is not None):
        raise click.UsageError("--workers is for local processes; with Dask the cluster's "
                               "workers do the work: drop --workers")
    lead_v, leads_v = _lead_value(lead), _leads_value(leads)
    with _dask_client(scheduler, dask_local) as client:
        try:
            summary = fit_files(list(paths), out=out, executor=client, workers=workers,
                                progress=progress, resume=resume, lead=lead_v, leads=leads_v,
                                fmt=fmt.lower(), fs=fs)
        except RuntimeError as exc:  # another batch holds the output folder
            raise click.ClickException(str(exc)) from None
    counts = summary["status"].value_counts()
    n_ok, n_skip, n_fail = (int(counts.get(k, 0)) for k in ("ok", "skipped", "failed"))
    beats = int(summary.loc[summary["status"] != "failed", "n_beats"].fillna(0).sum())
    click.echo(f"{len(summary)} inputs: {n_ok} fitted, {n_skip} skipped (already done), "
               f"{n_fail} failed; {beats:,} beats; {summary.attrs['seconds']:.1f} s")
    click.echo(f"index: {summary.attrs['index']}  log: {summary.attrs['log']}")
    if n_fail:
        for _, r in summary[summary["status"] == "failed"].iterrows():
            click.echo(f"  failed: {r['reason']}", err=True)
        click.echo(f"gmesa batch: {n_fail} of {len(summary)} inputs failed", err=True)
        return EXIT_FAILED
    return EXIT_OK


class _dask_client:
    """Context manager: None, a Client on ``scheduler``, or a local cluster's Client."""

    def __init__(self, scheduler, n_local):
        self.scheduler, self.n_local = scheduler, n_local
        self.client = self.cluster = None

    def __enter__(self):
        if self.scheduler is None and self.n_local is None:
            return None
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            flag = "--scheduler" if self.scheduler is not None else "--dask-local"
            raise click.UsageError(f"{flag} needs Dask: pip install 'gmesa[dask]', or drop "
                                   f"{flag} to use local processes") from None
        if self.scheduler is not None:
            try:
                self.client = Client(self.scheduler, timeout="20s")
            except (OSError, ValueError, TypeError) as exc:
                raise click.BadParameter(
                    f"cannot reach a Dask scheduler at {self.scheduler!r} "
                    f"({' '.join(str(exc).split())}); check the address, e.g. tcp://host:8786",
                    param_hint="'--scheduler'") from None
        else:
            self.cluster = LocalCluster(n_workers=self.n_local, threads_per_worker=1,
                                        processes=True, dashboard_address=None)
            self.client = Client(self.cluster)
        return self.client

    def __exit__(self, *exc):
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        return False


# ---------------------------------------------------------------------------------
# gmesa demo / gmesa plot
# ---------------------------------------------------------------------------------
@app.command("demo", context_settings=CONTEXT)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("gmesa-demo"), show_default=True, metavar="DIR",
              help="Folder for the demo's tables and figures; created if missing.")
def demo_cmd(out):
    """Fit the example record (MIT-BIH 100 when ../shared/data is beside the repository,
    else a synthetic record), print its summary table and write tables and figures."""
    try:
        from .demo import run_demo
    except ImportError as exc:
        raise click.ClickException(f"gmesa demo is not available in this installation "
                                   f"({exc})") from None
    try:
        run_demo(out)  # prints the summary and the files it wrote
    except (ValueError, OSError) as exc:
        raise click.ClickException(f"demo failed: {exc}") from None
    return EXIT_OK


@app.command("plot", context_settings=CONTEXT)
@click.argument("results", type=click.Path(exists=True, path_type=Path), metavar="RESULTS")
@click.option("--beat", type=click.IntRange(min=0), default=None, metavar="N",
              help="Beat number (the beat column of the beats table) to draw with its "
                   "components, fiducials and residual; default: an overview (a record "
                   "strip and a typical beat).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="PNG", help="PNG file to write (default: beside RESULTS, "
                                  "RECORD.overview.png or RECORD.beatN.png).")
def plot_cmd(results, beat, out):
    """Redraw a saved result without refitting. RESULTS is a RECORD.info.json written by
    gmesa fit or gmesa batch (or a folder holding exactly one)."""
    try:
        from .demo import plot_results
    except ImportError as exc:
        raise click.ClickException(f"gmesa plot is not available in this installation "
                                   f"({exc})") from None
    try:
        written = plot_results(results, beat, out)
    except IndexError as exc:
        raise click.BadParameter(f"{exc}; pick a beat number from the beat column",
                                 param_hint="'--beat'") from None
    except (ValueError, OSError, KeyError) as exc:
        raise click.ClickException(f"cannot plot {results}: {exc}") from None
    for p in _paths(written):
        click.echo(f"wrote {p}")
    return EXIT_OK


# ---------------------------------------------------------------------------------
# gmesa pulses
# ---------------------------------------------------------------------------------
@app.command("pulses", context_settings=CONTEXT, epilog="""\b
Exit codes:
  0  fitted
  1  the signal could not be fitted (the reason is printed)
  2  bad command line""")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE")
@click.option("--lead", required=True, metavar="NAME",
              help="The pulse channel, by name (case-insensitive, e.g. PLETH, ABP) or index.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              metavar="DIR", help="Folder for RECORD.LEAD.pulses.parquet (or .csv), "
                                  "RECORD.LEAD.pulses.json and RECORD.LEAD.pulses.png; "
                                  "created if missing.")
@_fs_option
@click.option("--max-components", type=click.IntRange(min=1, max=8), default=4,
              show_default=True, metavar="K", help="Largest number of components per pulse.")
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv"], case_sensitive=False),
              default="parquet", show_default=True, help="File format of the per-pulse table.")
@click.option("--threads", type=click.IntRange(min=1), metavar="N",
              help="Numba threads for the fit (default: all cores).")
def pulses_cmd(file, lead, out, fs, max_components, fmt, threads):
    """Decompose every pulse of a PPG or arterial-pressure channel of FILE into mesa
    components (gmesa.fit_pulses) and print a summary.

    Writes one row per pulse (onset, components, PRD, status, reason) to
    OUT/RECORD.LEAD.pulses.parquet, the settings and the template to
    OUT/RECORD.LEAD.pulses.json, and a figure (pulse strip, template, one pulse) to
    OUT/RECORD.LEAD.pulses.png. A channel that wrapped around its converter's range
    (e.g. v102s PLETH) is unwrapped from the WFDB header first.
    """
    import time

    from .pulse_io import read_pulse_signal
    from .pulses import fit_pulses

    lead_v = _lead_value(lead)
    if not file.exists() and not Path(str(file) + ".hea").is_file():
        raise click.BadParameter(f"{file} does not exist; give the path of a record file",
                                 param_hint="'FILE'")
    t0 = time.perf_counter()
    try:
        sig, rate, info = read_pulse_signal(file, lead_v, fs)
        res = fit_pulses(sig, rate, max_components, info=info, threads=threads)
    except (ValueError, OSError) as exc:
        click.echo(f"gmesa pulses: {' '.join(str(exc).split())}", err=True)
        return EXIT_FAILED
    seconds = time.perf_counter() - t0
    s = res.summary()
    stem = f"{info['record']}.{info['lead']}"
    click.echo(f"{info['record']}: lead {info['lead']}, {rate:g} Hz, {sig.size / rate:.1f} s, "
               f"fitted in {seconds:.2f} s" + (f" ({info['note']})" if info["note"] else ""))
    n = s["pulses"]
    unit = f" {info['unit']}" if info["unit"] else ""
    click.echo(_table([
        ("pulses", f"{n}"),
        ("ok", f"{s['ok']} ({100.0 * s['ok'] / n:.1f}%)" if n else "0"),
        ("interpretable", f"{100.0 * s['interpretable']:.1f}%"),
        ("median PRD", _fmt_num(s["median_prd"], " %", 2)),
        ("components", f"{s['components']} ({res.template.shape}, "
                       f"{res.template.criterion.upper()})"),
    ] + [(f"  {name}", f"center {r.center * 1e3:.0f} ms, amplitude {r.amplitude:.3g}{unit}, "
                       f"widths {r.sigma_left * 1e3:.0f}/{r.sigma_right * 1e3:.0f} ms")
         for name, r in res.template.table.iterrows()]))
    out = out.expanduser()
    paths = res.save(out, stem=stem, fmt=fmt.lower())
    try:
        from .plot_decomposition import close, pulses_overview
        fig = pulses_overview(res)
        paths["figure"] = out / f"{stem}.pulses.png"
        fig.savefig(paths["figure"], dpi=110)
        close(fig)
    except Exception as exc:  # the tables are written; say what went wrong
        click.echo(f"gmesa pulses: figure failed ({type(exc).__name__}: {exc})", err=True)
        return EXIT_FAILED
    click.echo("wrote " + ", ".join(str(p) for p in paths.values()))
    return EXIT_OK


if __name__ == "__main__":
    app()
