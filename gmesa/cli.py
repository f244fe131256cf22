"""The ``gmesa`` command: ``gmesa fit``, ``gmesa batch``, ``gmesa demo``, ``gmesa plot``.

A thin layer over the Python API (:func:`gmesa.batch.fit_files`,
:func:`gmesa.batch.fit_one`): it parses, calls the API and prints.  Exit codes
(:data:`EXIT_CODES`): 0 all good, 1 some inputs failed, 2 a bad command line, 3 the
output folder is locked or cannot be written, 4 no beat fitted ok, 130 interrupted;
every error is one line, never a traceback.  Run as ``gmesa ...`` or
``python -m gmesa.cli ...``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ._cli_report import (EXIT_CODES, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_NO_OK_BEAT, EXIT_OK,
                          EXIT_OUTPUT, EXIT_USAGE, FIT_EXIT_CODES, report_batch, report_fit,
                          report_leads, report_pulses, report_stability, report_warnings)
# the number and table formats of every command's summary
from ._cli_report import fmt_num as _fmt_num  # noqa: F401
from ._cli_report import table as _table  # noqa: F401


class _OutputError(click.ClickException):
    """The output folder is locked or cannot be written: exit 3, one line."""
    exit_code = EXIT_OUTPUT

    def __init__(self, message, command):
        super().__init__(message)
        self.command = command


CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class _Group(click.Group):
    """Usage errors as one line, ``gmesa batch: error: ... (see 'gmesa batch --help')``,
    exit 2; an unusable output folder one line, exit 3; Ctrl-C exits 130 with one line."""

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
            cmd = getattr(exc, "command", "gmesa")
            click.echo(f"{cmd}: error: {' '.join(exc.format_message().split())}", err=True)
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
             "Default: lead II (or MLII) when the record has it, else the first lead "
             "whose name looks like an ECG lead, else the first lead.")(f)


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


def _force_ecg_option(f):
    return click.option(
        "--force-ecg", is_flag=True, default=False,
        help="Fit the lead even when it does not look like an ECG (its unit is no voltage "
             "or its name is that of another signal, e.g. PLETH, ABP): passed to the "
             "reader and fitter as force_ecg=True.")(f)


def _lead_value(lead):
    if lead is None:
        return None
    s = lead.strip()
    if not s:
        raise click.BadParameter("give a lead name such as II or MLII, or an index",
                                 param_hint="'--lead'")
    return int(s) if s.lstrip("+-").isdigit() else s


_leads_option = click.option(
    "--leads", metavar="LIST",
    help="Fit several leads on shared R peaks ('all', or names/indices separated by commas) "
         "with one joint model (each wave's timing shared by the leads, global boundaries; "
         "docs/joint.md); --lead is then the primary lead. Writes RECORD.leads.* and each "
         "lead's tables.")
_joint_option = click.option(
    "--joint/--per-lead", default=True, show_default=True,
    help="With --leads: the joint model, or each lead fitted alone with each wave read "
         "from the lead that shows it (faster on long multi-lead records).")


_pooled_option = click.option(
    "--pooled/--picked", default=False, show_default=True,
    help="With --leads --per-lead: each onset and offset the median of the leads that show "
         "the wave, moved out to where the earliest onset and latest offset over the leads "
         "lie (docs/joint.md), or read from the one lead the wave is read from.")


def _multilead_options(leads_v, joint, pooled):
    """fit_leads' options for --leads (None without it) from --joint/--per-lead and
    --pooled/--picked."""
    if pooled and joint:
        raise click.BadParameter("--pooled reads each lead's own fit: add --per-lead",
                                 param_hint="'--pooled'")
    if leads_v is None:
        if pooled:
            raise click.BadParameter("--pooled is for several leads: add --leads",
                                     param_hint="'--pooled'")
        return None
    return {"joint": joint, **({"boundaries": "pooled"} if pooled else {})}


def _leads_value(leads):
    """``--leads``: None, "all" or a list of lead names/indices."""
    if leads is None or leads.strip().lower() == "all":
        return None if leads is None else "all"
    return [_lead_value(x) for x in leads.split(",")]


# ---------------------------------------------------------------------------------
# gmesa fit
# ---------------------------------------------------------------------------------
@app.command("fit", context_settings=CONTEXT, epilog=FIT_EXIT_CODES)
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
                   "RECORD.record.png, RECORD.template.png, RECORD.trends.png; with "
                   "--leads, RECORD.leads.beat.png: a typical beat in every lead, and "
                   "RECORD.leads.trends.png).")
@click.option("--threads", type=click.IntRange(min=1), metavar="N",
              help="Numba threads for the fit (default: all cores).")
@click.option("--stability", is_flag=True, default=False,
              help="Also fit the lead three times more under 0.0001 mV of white noise "
                   "and say which boundaries move (gmesa.ecg.stability: a choice on a "
                   "knife edge); one lead only.")
@_leads_option
@_joint_option
@_pooled_option
@_force_ecg_option
def fit_cmd(file, lead, out, fmt, fs, figures, threads, leads, joint, pooled, force_ecg,
            stability):
    """Fit one ECG record FILE (WFDB .hea/.dat, EDF/BDF, CSV/TSV, NPY) and print a summary.

    Writes one row per beat (wave parameters, fiducials, intervals, fit quality,
    status) to OUT/RECORD.beats.parquet (or .csv) and prints beats, beats fitted
    ok, the median PRD and the median RR, PR, QRS, QT and QTc intervals.
    """
    from .batch import OutputFolderError, fit_one

    lead_v = _lead_value(lead)
    if not file.exists() and not Path(str(file) + ".hea").is_file():
        raise click.BadParameter(f"{file} does not exist; give the path of a record file",
                                 param_hint="'FILE'")
    out = out.expanduser()
    fmt = fmt.lower()
    leads_v = _leads_value(leads)
    multilead = _multilead_options(leads_v, joint, pooled)
    if stability and leads_v is not None:
        raise click.BadParameter("--stability checks one lead; leave out --leads",
                                 param_hint="'--stability'")
    try:
        row = fit_one(file, out, lead=lead_v, leads=leads_v, fs=fs, fmt=fmt, threads=threads,
                      force_ecg=force_ecg, keep_fit=True,
                      fit_options=multilead)
    except OutputFolderError as exc:
        raise _OutputError(str(exc), "gmesa fit") from None
    stem = row["record"]
    if row["status"] == "failed" or not row.get("n_beats"):
        click.echo(f"gmesa fit: {row['reason']}", err=True)
        return EXIT_FAILED if row["status"] == "failed" else EXIT_NO_OK_BEAT
    (report_leads if leads_v is not None else report_fit)(row, out)
    if row["status"] == "no_ok_beat":
        click.echo(f"gmesa fit: {row['reason']}", err=True)
        return EXIT_NO_OK_BEAT
    if stability:
        report_stability(file, row, fs, threads, force_ecg)
    if figures:
        try:
            if leads_v is None:
                from .plot.files import write_figures as draw
            else:
                from .plot.files import write_leads_figures as draw
        except ImportError as exc:
            click.echo(f"gmesa fit: figures skipped: gmesa.plot is not available ({exc})",
                       err=True)
        else:
            try:
                written = draw(_with_samples(row, out), out, stem=stem)
            except Exception as exc:  # the tables are written; say what went wrong
                click.echo(f"gmesa fit: figures failed ({type(exc).__name__}: {exc})", err=True)
                return EXIT_FAILED
            for p in _paths(written):
                click.echo(f"wrote {p}")
    return EXIT_OK


def _with_samples(row, out):
    """The fit of ``gmesa fit``'s ``row`` with every lead's samples: a several-lead fit
    of a WFDB or EDF record keeps only each lead's table in memory (each lead was
    written as soon as it was fitted), so it is read back from ``out``."""
    fit = row["fit"]
    if hasattr(fit, "fits") and any(f.signal.size == 0 for f in fit.fits.values()):
        from .ecg import LeadsFit
        return LeadsFit.load(out / row["info_file"])
    return fit


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
@_joint_option
@_pooled_option
@_force_ecg_option
def batch_cmd(paths, out, workers, scheduler, dask_local, resume, lead, fmt, fs, progress,
              leads, joint, pooled, force_ecg):
    """Fit every record in PATH... (files, folders searched recursively, glob patterns).

    Folders contribute records, not files: a WFDB record is its .hea (a multi-segment
    record its master header; segment, layout and data files are its parts), others
    are .edf, .bdf, .csv, .tsv and .npy files (in a folder with a PhysioNet RECORDS
    list, those it names). A record that cannot be fitted (missing, unreadable,
    truncated, all-NaN or missing lead ...) or that gives no beat fitted ok is
    reported with its reason; the others go on.
    Killed and started again with the same command, the batch skips finished
    records and ends with the output of an uninterrupted run.
    """
    from .batch import OutputFolderError, fit_files

    if scheduler is not None and dask_local is not None:
        raise click.UsageError("use --scheduler ADDRESS or --dask-local N, not both")
    if workers is not None and (scheduler is not None or dask_local is not None):
        raise click.UsageError("--workers is for local processes; with Dask the cluster's "
                               "workers do the work: drop --workers")
    lead_v, leads_v = _lead_value(lead), _leads_value(leads)
    multilead = _multilead_options(leads_v, joint, pooled)
    with _dask_client(scheduler, dask_local) as client:
        try:
            summary = fit_files(list(paths), out=out, executor=client, workers=workers,
                                progress=progress, resume=resume, lead=lead_v, leads=leads_v,
                                fmt=fmt.lower(), fs=fs, force_ecg=force_ecg,
                                **(multilead or {}))
        except OutputFolderError as exc:  # locked by another batch, or not writable
            raise _OutputError(str(exc), "gmesa batch") from None
    return report_batch(summary)


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
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), default=None,
              metavar="DIR", help="Data folder holding physionet/100 (default: the "
                                  "environment variable GMESA_DATA).")
def demo_cmd(out, data):
    """Fit the example record (MIT-BIH 100 when the data folder, --data or GMESA_DATA,
    holds physionet/100, else the synthetic record shipped with gmesa), print its summary
    table and write tables and figures."""
    try:
        from .demo import run_demo
    except ImportError as exc:
        raise click.ClickException(f"gmesa demo is not available in this installation "
                                   f"({exc})") from None
    try:
        run_demo(out, data=data)  # prints the summary and the files it wrote
    except (ValueError, OSError) as exc:
        raise click.ClickException(f"demo failed: {exc}") from None
    return EXIT_OK


@app.command("plot", context_settings=CONTEXT)
@click.argument("results", type=click.Path(exists=True, path_type=Path), metavar="RESULTS")
@click.option("--beat", type=click.IntRange(min=0), default=None, metavar="N",
              help="Beat number (the beat column of the beats table) to draw with its "
                   "components, fiducials and residual; default: an overview (a record "
                   "strip and a typical beat; several leads: a typical beat in every lead).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              metavar="PNG", help="PNG file to write, or a folder to write the default "
                                  "name into (default: beside RESULTS, "
                                  "RECORD.overview.png or RECORD.beatN.png; several "
                                  "leads: RECORD.leads.beat.png or RECORD.leads.beatN.png).")
def plot_cmd(results, beat, out):
    """Redraw a saved result without refitting. RESULTS is a RECORD.info.json written by
    gmesa fit or gmesa batch, a RECORD.leads.json (several leads: the beat in every lead)
    or a folder holding exactly one result."""
    try:
        from .plot.files import plot_results
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
    import warnings

    from .decomp.pulse_io import read_pulse_signal
    from .decomp.pulses import fit_pulses

    lead_v = _lead_value(lead)
    if not file.exists() and not Path(str(file) + ".hea").is_file():
        raise click.BadParameter(f"{file} does not exist; give the path of a record file",
                                 param_hint="'FILE'")
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:  # said once, below the summary
            warnings.simplefilter("always")
            sig, rate, info = read_pulse_signal(file, lead_v, fs)
            res = fit_pulses(sig, rate, max_components, info=info, threads=threads)
    except (ValueError, OSError) as exc:
        click.echo(f"gmesa pulses: {' '.join(str(exc).split())}", err=True)
        return EXIT_FAILED
    report_pulses(res, info, rate, sig.size / rate, time.perf_counter() - t0)
    stem = f"{info['record']}.{info['lead']}"
    out = out.expanduser()
    paths = res.save(out, stem=stem, fmt=fmt.lower())
    try:
        from .plot.any_fit import pulses_overview
        from .plot.style import close
        fig = pulses_overview(res)
        paths["figure"] = out / f"{stem}.pulses.png"
        fig.savefig(paths["figure"], dpi=110)
        close(fig)
    except Exception as exc:  # the tables are written; say what went wrong
        click.echo(f"gmesa pulses: figure failed ({type(exc).__name__}: {exc})", err=True)
        return EXIT_FAILED
    click.echo("wrote " + ", ".join(str(p) for p in paths.values()))
    report_warnings(caught)
    return EXIT_OK


if __name__ == "__main__":
    app()
