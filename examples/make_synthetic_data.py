"""Write the synthetic example record shipped in gmesa/data/: a 60 s, 500 Hz, one-lead
ECG made by gmesa.ecg.synthesize (WFDB files) and its ground truth (CSV: true fiducials,
intervals and per-beat GMF parameters).  gmesa.datasets.example_record() and
example_truth() give their paths.  Run from the repository root:

    python examples/make_synthetic_data.py [OUT_DIR]

The files are deterministic: running this again writes them byte for byte.
"""
import argparse
from pathlib import Path

import numpy as np
import wfdb

from gmesa.datasets import EXAMPLE_SETTINGS
from gmesa.ecg import synthesize

OUT = Path(__file__).resolve().parents[1] / "gmesa" / "data"


def main(out=OUT):
    out = Path(out)
    syn = synthesize(**EXAMPLE_SETTINGS)
    out.mkdir(parents=True, exist_ok=True)
    settings = ", ".join(f"{k}={v}" for k, v in EXAMPLE_SETTINGS.items())
    wfdb.wrsamp("synthetic", fs=EXAMPLE_SETTINGS["fs"], units=["mV"], sig_name=["II"],
                p_signal=syn.record.signal[:, None], fmt=["16"], adc_gain=[1000.0],
                baseline=[0], write_dir=str(out),
                comments=[f"gmesa.ecg.synthesize({settings})"])
    truth = syn.truth.join(syn.params)
    truth.to_csv(out / "synthetic_truth.csv", index=False, float_format="%.6g")
    print(f"wrote {out / 'synthetic.hea'}, .dat and synthetic_truth.csv "
          f"({len(truth)} beats, {np.round(syn.record.duration_s)} s)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default=OUT, help="folder to write (default gmesa/data)")
    main(ap.parse_args().out)
