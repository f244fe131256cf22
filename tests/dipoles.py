"""Synthetic beats whose waves are dipoles of known direction, projected onto the 12
standard leads (through the pseudo-inverse of the inverse Dower matrix) or the Frank leads:
shared by test_spatial and test_plot."""
from __future__ import annotations

import numpy as np

from gmesa.ecg import Record
from gmesa.ecg.spatial import DOWER_LEADS, INVERSE_DOWER, gmf_area
from gmesa.lineshapes import gmf

TWELVE = ("i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6")
#: per wave: (center s from R, half_width, sigma_left, sigma_right), XYZ dipole (mV)
WAVES = {
    "P": ((-0.16, 0.010, 0.018, 0.018), (0.10, 0.12, -0.03)),
    "Q": ((-0.028, 0.0, 0.007, 0.006), (-0.15, 0.05, 0.20)),
    "R": ((0.0, 0.002, 0.010, 0.010), (1.00, 0.60, 0.45)),
    "S": ((0.032, 0.0, 0.008, 0.010), (-0.30, -0.35, -0.50)),
    "T": ((0.30, 0.010, 0.050, 0.035), (0.35, 0.15, -0.30)),
}


def twelve_from_xyz(xyz):
    """The 12 standard leads of (..., 3) XYZ vectors: V1-V6, I, II through the
    pseudo-inverse of the inverse Dower matrix, III and the augmented leads from I, II."""
    eight = np.asarray(xyz) @ np.linalg.pinv(INVERSE_DOWER).T       # (..., 8)
    v = dict(zip(DOWER_LEADS, np.moveaxis(eight, -1, 0)))
    i, ii = v["i"], v["ii"]
    v.update(iii=ii - i, avr=-(i + ii) / 2, avl=i - ii / 2, avf=ii - i / 2)
    return v


def true_vectors():
    """(QRS area vector, T area vector) of :data:`WAVES`, mV*s."""
    area = {w: gmf_area(1.0, *timing[1:]) * np.asarray(d) for w, (timing, d) in WAVES.items()}
    return area["Q"] + area["R"] + area["S"], area["T"]


def synthetic_record(seconds=8.0, fs=500.0, rr=0.8, noise=0.01, seed=1, frank=False):
    t = np.arange(int(seconds * fs)) / fs
    xyz = np.zeros((t.size, 3))
    for r in np.arange(0.5, seconds - 0.6, rr):
        for timing, d in WAVES.values():
            c, *shape = timing
            xyz += gmf(t, 1.0, r + c, *shape)[:, None] * np.asarray(d)
    if frank:
        leads = {"vx": xyz[:, 0], "vy": xyz[:, 1], "vz": xyz[:, 2]}
    else:
        leads = twelve_from_xyz(xyz)
    names = list(leads) if frank else list(TWELVE)
    sig = np.column_stack([leads[n] for n in names])
    sig += noise * np.random.default_rng(seed).standard_normal(sig.shape)
    return Record(sig, fs, leads=names)
