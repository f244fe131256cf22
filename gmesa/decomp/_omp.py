"""Private: the dictionary of candidate mesa functions and the Gram-Schmidt forward
selection (GOFR, orthogonal least squares) behind :func:`gmesa.decompose`.

Every candidate ("atom") is a unit-amplitude mesa function ``g(x - c)`` of one *shape*
``(half_width, sigma_left, sigma_right)`` centred on a sample ``c`` of a uniform grid.
On a uniform grid the inner products of one vector with every atom of one shape are a
cross-correlation, so one FFT gives them for every centre at once; atoms are never
stored.  Memory: the spectra of the shapes' kernels (``n_shapes x n`` complex values,
kept when they fit in :data:`BUDGET_BYTES`, else recomputed chunk by chunk) and three
``n_shapes x n`` arrays of scores.
"""
from __future__ import annotations

import numpy as np
from scipy import fft as sfft

from .. import _kernels as K

#: tail-width ratios sigma_right / sigma_left of the candidates, per shape family
ASYMMETRIES = {"mesa": (1 / 3, 1 / 2, 1.0, 2.0, 3.0),
               "bigaussian": (1 / 3, 1 / 2, 1.0, 2.0, 3.0),
               "gaussian": (1.0,)}
#: plateau half-widths of the candidates, in units of their mean tail width
PLATEAUS = {"mesa": (0.0, 0.5, 1.0, 2.0), "bigaussian": (0.0,), "gaussian": (0.0,)}
#: ratio between successive tail widths of the candidates
WIDTH_STEP = 1.3
#: kernel spectra are cached up to this many bytes, and the correlation of one vector
#: is computed in chunks of shapes whose real output stays below it
BUDGET_BYTES = 64 * 2 ** 20
#: selection runs on at most this many grid points (longer signals are resampled)
MAX_GRID = 4096


def shape_grid(dx, span, shape, min_width, max_width):
    """Candidate shapes (S, 3): half_width, sigma_left, sigma_right (x units)."""
    n_w = max(1, int(np.floor(np.log(max_width / min_width) / np.log(WIDTH_STEP))) + 1)
    widths = min_width * WIDTH_STEP ** np.arange(n_w)
    rows = []
    for s in widths:
        for r in ASYMMETRIES[shape]:
            sl, sr = s / np.sqrt(r), s * np.sqrt(r)
            for h in PLATEAUS[shape]:
                if h * s < 0.5 * span:
                    rows.append((h * s, sl, sr))
    return np.array(rows, dtype=np.float64)


def _unit_gmf(x, h, sl, sr):
    out = np.empty_like(x)
    K.gmf_value_into(x, 1.0, 0.0, h, sl, sr, out)
    return out


class Dictionary:
    """The atoms of ``shapes`` centred on each point of a uniform grid of ``n`` points."""

    def __init__(self, n, dx, shapes):
        self.n, self.dx, self.shapes = int(n), float(dx), np.asarray(shapes, float)
        self.size = sfft.next_fast_len(2 * self.n - 1, real=True)
        # kernel s at offset x_i - x_j, reversed so the correlation is a convolution
        self._offsets = np.ascontiguousarray((np.arange(2 * n - 1)[::-1] - (n - 1)) * dx)
        per_shape = (self.size // 2 + 1) * 16
        self._chunk = max(1, int(BUDGET_BYTES // (self.size * 8)))
        self._spectra = (self._kernel_spectra(slice(None))
                         if per_shape * len(self.shapes) <= BUDGET_BYTES else None)
        self._norm2 = (None, None)

    def norm2(self, w2):
        """|g|**2 under the weights w2 for every atom (S, n); the last one is kept."""
        key, value = self._norm2
        if key is None or not np.array_equal(key, w2):
            value = self.correlate(w2, power=2)
            self._norm2 = (np.array(w2, copy=True), value)
        return value

    @property
    def n_shapes(self):
        return len(self.shapes)

    def _kernel_spectra(self, sl, power=1):
        ker = np.stack([_unit_gmf(self._offsets, *row) for row in self.shapes[sl]])
        return sfft.rfft(ker ** power, self.size, axis=1)

    def correlate(self, v, power=1):
        """c[s, j] = sum_i v[i] * g_s(x_i - x_j) ** power, shape (S, n)."""
        spec_v = sfft.rfft(np.asarray(v, float), self.size)
        out = np.empty((self.n_shapes, self.n))
        lo, hi = self.n - 1, 2 * self.n - 1
        for a in range(0, self.n_shapes, self._chunk):
            sl = slice(a, a + self._chunk)
            spec = (self._spectra[sl] if self._spectra is not None and power == 1
                    else self._kernel_spectra(sl, power))
            out[sl] = sfft.irfft(spec * spec_v, self.size, axis=1)[:, lo:hi]
        return out

    def atom(self, s, j):
        """Values of atom (shape s, centre j) on the grid."""
        x = (np.arange(self.n) - j) * self.dx
        return _unit_gmf(np.ascontiguousarray(x, dtype=np.float64), *self.shapes[s])


class _Basis:
    """An orthonormal basis under the weighted inner product <a, b> = sum w2 a b."""

    def __init__(self, w2):
        self.w2 = w2
        self.q = []

    def orthogonalise(self, g):
        v = np.array(g, dtype=float)
        for _ in range(2):  # twice is enough (Kahan-Parlett)
            for q in self.q:
                v -= (q @ (self.w2 * v)) * q
        return v

    def add(self, g, tiny):
        v = self.orthogonalise(g)
        norm2 = float(v @ (self.w2 * v))
        if norm2 <= tiny:
            return None
        v /= np.sqrt(norm2)
        self.q.append(v)
        return v


def forward_select(dic, y, w, base_cols, n_atoms, sign=0):
    """Pick up to ``n_atoms`` atoms, one at a time (Gram-Schmidt forward regression).

    The baseline columns are in the model from the start.  Each step takes the atom
    whose part orthogonal to the chosen columns explains most of the residual:
    ``(g.W r)**2 / (|g|**2 - |Q.W g|**2)``; ``sign`` +1/-1 keeps only atoms whose
    correlation with the residual has that sign.  Returns a list of (shape, centre).
    """
    w2 = np.asarray(w, float) ** 2
    scale = float(y @ (w2 * y)) or 1.0
    basis = _Basis(w2)
    for col in base_cols.T:
        basis.add(col, 1e-24 * float(col @ (w2 * col)))
    r = y - sum((q @ (w2 * y)) * q for q in basis.q) if basis.q else np.array(y, float)
    corr = dic.correlate(w2 * r)
    norm2 = dic.norm2(w2)
    proj2 = np.zeros_like(norm2)
    for q in basis.q:
        proj2 += dic.correlate(w2 * q) ** 2
    taken = np.zeros(norm2.shape, dtype=bool)
    chosen = []
    for _ in range(n_atoms):
        den = norm2 - proj2
        ok = (den > 1e-9 * norm2) & ~taken
        if sign:
            ok &= sign * corr > 0
        score = np.where(ok, corr ** 2 / np.where(ok, den, 1.0), 0.0)
        flat = int(np.argmax(score))
        if score.flat[flat] <= 1e-28 * scale:
            break
        s, j = divmod(flat, dic.n)
        q = basis.add(dic.atom(s, j), 1e-12 * float(norm2[s, j]))
        taken[s, j] = True
        if q is None:
            continue
        a = float(q @ (w2 * r))
        r = r - a * q
        cq = dic.correlate(w2 * q)
        corr -= a * cq
        proj2 += cq ** 2
        chosen.append((s, j))
    return chosen, r


def best_atoms(dic, r, w, signs=(0,)):
    """For each sign in ``signs`` (0: any, +1, -1), the atom most correlated (normalised)
    with ``r`` whose correlation has that sign: a list of (shape, centre, amplitude),
    amplitude 0 when there is none.  One correlation serves every sign."""
    w2 = np.asarray(w, float) ** 2
    corr = dic.correlate(w2 * r)
    norm2 = dic.norm2(w2)
    out = []
    for sign in signs:
        ok = norm2 > 0
        if sign:
            ok &= sign * corr > 0
        score = np.where(ok, corr ** 2 / np.where(ok, norm2, 1.0), 0.0)
        s, j = divmod(int(np.argmax(score)), dic.n)
        out.append((s, j, float(corr[s, j] / norm2[s, j]) if ok[s, j] else 0.0))
    return out
