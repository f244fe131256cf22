"""ECG layer of gmesa: read a record, clean it, find R peaks, fit P/Q/R/S/T mesa
components to every beat and read wave boundaries and intervals off the fit."""
from .clean import clean, notch, remove_baseline
from . import evaluate
from .evaluate import (
    CSE_TOLERANCE_MS, FiducialScore, error_stats, match, rpeaks_from_annotations, score_fiducial,
    score_rpeaks, summarize,
)
from .fiducials import RULE, intervals, wave_fiducials
from .fit import STATUS, FitOptions, fit_record
from .result import BeatFit, RecordFit
from .init import guess_beat
from .io import Record, RecordError, read_record
from .leads import LeadsFit, fit_each_lead, fit_leads
from .rpeaks import detect_rpeaks
from .synth import Synthetic, synthesize
from .waves import WAVES

__all__ = [
    "Record", "RecordError", "read_record", "clean", "notch", "remove_baseline",
    "detect_rpeaks", "rpeaks_from_annotations", "fit_record", "RecordFit", "BeatFit",
    "fit_leads", "fit_each_lead", "LeadsFit",
    "FitOptions", "STATUS", "RULE", "wave_fiducials", "intervals", "guess_beat",
    "synthesize", "Synthetic", "WAVES",
    "evaluate", "match", "score_fiducial", "FiducialScore", "error_stats", "summarize",
    "score_rpeaks", "CSE_TOLERANCE_MS",
]
