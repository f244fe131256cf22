#!/usr/bin/env python
"""``benchmarks/delineation.py`` with one more method: ``gmesa_leads_separate``, every lead
handed over as ``gmesa_leads`` does, fitted with ``fit_leads(..., joint=False)`` (each lead
alone, each wave read from one lead) so the joint model (``gmesa_leads``, the default
``joint=True``) and the per-lead one are scored in the same run.

    GMESA_DATA=/work/shared/data python benchmarks/joint_delineation.py --datasets ludb \\
        --ludb-split even --methods gmesa_leads,gmesa_leads_separate --jobs 2
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import delineation  # noqa: E402


def gmesa_leads_separate(signals: np.ndarray, fs: float) -> pd.DataFrame:
    """gmesa, every lead of the record, each fitted alone:
    ``fit_leads(Record(signals, fs), primary=0, joint=False).beats``."""
    from gmesa.ecg import Record, fit_leads

    signals = np.asarray(signals, dtype=float)
    leads = [f"lead{j}" for j in range(signals.shape[1])]
    return fit_leads(Record(signals, fs, leads=leads), primary=0, joint=False).beats


gmesa_leads_separate.multilead = True
delineation.METHODS["gmesa_leads_separate"] = gmesa_leads_separate

if __name__ == "__main__":
    sys.exit(delineation.main())
