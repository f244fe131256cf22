"""Write the synthetic example record in data/: a 60 s, 500 Hz, one-lead ECG made by
gmesa.ecg.synthesize (WFDB files) and its ground truth (CSV: true fiducials, intervals
and per-beat GMF parameters).  Run from the repository root:

    python examples/make_synthetic_data.py
"""
from pathlib import Path

import numpy as np
import wfdb

from gmesa.ecg import synthesize

OUT = Path(__file__).resolve().parents[1] / "data"


def main():
    syn = synthesize(duration=60, fs=500, heart_rate=72, snr_db=25, wander=0.1, seed=7)
    OUT.mkdir(exist_ok=True)
    wfdb.wrsamp("synthetic", fs=500, units=["mV"], sig_name=["II"],
                p_signal=syn.record.signal[:, None], fmt=["16"], adc_gain=[1000.0],
                baseline=[0], write_dir=str(OUT),
                comments=["gmesa.ecg.synthesize(duration=60, fs=500, heart_rate=72, "
                          "snr_db=25, wander=0.1, seed=7)"])
    truth = syn.truth.join(syn.params)
    truth.to_csv(OUT / "synthetic_truth.csv", index=False, float_format="%.6g")
    print(f"wrote {OUT / 'synthetic.hea'}, .dat and synthetic_truth.csv "
          f"({len(truth)} beats, {np.round(syn.record.duration_s)} s)")


if __name__ == "__main__":
    main()
