"""ECG layer of gmesa: read a record, clean it, find R peaks, fit P/Q/R/S/T mesa
components to every beat and read wave boundaries and intervals off the fit."""
from .clean import clean, notch, remove_wander
from . import evaluate
from .evaluate import (
    CSE_TOLERANCE_MS, FiducialScore, error_stats, match, rpeaks_from_annotations, score_fiducial,
    score_rpeaks, fiducial_summary,
)
from .fiducials import RULE, intervals, wave_fiducials
from .fidmap import fiducial_map
from .priors import load_priors, prior_arrays
from .._deprecated import module_getattr
from .fit import fit_record
from .options import BEAT_STATUS, FitOptions
from .result import BeatFit, RecordFit
from .init import guess_beat
from .io import Record, RecordError, read_record
from .leads import LeadsFit, fit_each_lead, fit_leads
from .rpeaks import detect_rpeaks
from .spatial import SPATIAL_COLUMNS, spatial_directions
from .stability import Stability, stability
from .synth import Synthetic, synthesize
from .waves import WAVES

__all__ = [
    "Record", "RecordError", "read_record", "clean", "notch", "remove_wander",
    "detect_rpeaks", "rpeaks_from_annotations", "fit_record", "RecordFit", "BeatFit",
    "fit_leads", "fit_each_lead", "LeadsFit", "spatial_directions", "SPATIAL_COLUMNS",
    "FitOptions", "BEAT_STATUS", "RULE", "wave_fiducials", "intervals", "guess_beat",
    "fiducial_map", "load_priors", "prior_arrays",
    "synthesize", "Synthetic", "WAVES", "stability", "Stability",
    "evaluate", "match", "score_fiducial", "FiducialScore", "error_stats", "fiducial_summary",
    "score_rpeaks", "CSE_TOLERANCE_MS",
]

__getattr__ = module_getattr(__name__, {"STATUS": "BEAT_STATUS", "remove_baseline": "remove_wander"},
                             globals())
