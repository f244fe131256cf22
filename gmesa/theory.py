"""The identities gmesa is built on, as small numpy functions (see ``docs/theory.md``).

Nothing here is used in a hot path: these functions state the theory in code so that
``tests/test_theory.py`` can check every identity numerically.

- ``|z| = relu(z) + relu(-z)``                                      :func:`abs_via_relu`
- mesa distance as a 2-vector whose L1 and L2 norms coincide         :func:`mesa_parts`
- signed Gaussian posterior mean ``E[s|z] = tanh(m z / sigma**2)``   :func:`signed_gaussian_posterior_mean`
- sigmoid-basis <-> tanh-basis linear models                         :func:`sigmoid_to_tanh_basis`
- Abs/ReLU linear node = Mahalanobis distance, whitening up to a rotation
  :func:`whitening_layer`, :func:`abs_layer`, :func:`relu_layer`, :func:`rotated_whitening`

Widths (``sigma_left``, ``sigma_right``, ``sigma``, ``s``, ``scale``) must be positive and
``half_width`` non-negative; unlike :mod:`gmesa.lineshapes` there is no ``tiny`` guard.
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit

from .lineshapes import relu

__all__ = [
    "abs_via_relu",
    "mesa_parts",
    "mesa_distance_l1",
    "mesa_distance_l2",
    "signed_gaussian_responsibilities",
    "signed_gaussian_posterior_mean",
    "sigmoid_to_tanh_basis",
    "tanh_to_sigmoid_basis",
    "sigmoid_basis_model",
    "tanh_basis_model",
    "mahalanobis",
    "whitening_layer",
    "abs_layer",
    "relu_layer",
    "rotated_whitening",
    "random_rotation",
]


# --------------------------------------------------------------------------- seed 003

def abs_via_relu(z):
    """|z| written as two half-space detectors: relu(z) + relu(-z)."""
    z = np.asarray(z, dtype=float)
    return relu(z) + relu(-z)


def mesa_parts(x, center=0.0, half_width=0.0, sigma_left=1.0, sigma_right=1.0):
    """The mesa distance as a vector, stacked on a new last axis::

        (relu(x - mu - delta) / sigma_right,  relu(mu - x - delta) / sigma_left)

    For ``half_width >= 0`` at most one component is non-zero at any x.
    """
    x = np.asarray(x, dtype=float)
    right = relu(x - center - half_width) / sigma_right
    left = relu(center - x - half_width) / sigma_left
    return np.stack([right, left], axis=-1)


def mesa_distance_l1(x, center=0.0, half_width=0.0, sigma_left=1.0, sigma_right=1.0):
    """L1 norm of :func:`mesa_parts`: |right| + |left| (this is ``lineshapes.mesa_distance``)."""
    return np.sum(np.abs(mesa_parts(x, center, half_width, sigma_left, sigma_right)), axis=-1)


def mesa_distance_l2(x, center=0.0, half_width=0.0, sigma_left=1.0, sigma_right=1.0):
    """L2 norm of :func:`mesa_parts`: sqrt(right**2 + left**2).

    Equal to :func:`mesa_distance_l1` when ``half_width >= 0`` (disjoint supports).
    """
    parts = mesa_parts(x, center, half_width, sigma_left, sigma_right)
    return np.hypot(parts[..., 0], parts[..., 1])


# --------------------------------------------------------------------------- seed 000

def signed_gaussian_responsibilities(z, m=1.0, sigma=1.0):
    """Posterior probabilities (r_plus, r_minus) of the sign s in {+1, -1} given z.

    Model: p(z | s) = N(s m, sigma**2), p(s = +1) = p(s = -1) = 1/2.  With the energies
    d_s = (z - s m)**2 / (2 sigma**2), r_s = exp(-d_s) / (exp(-d_+) + exp(-d_-)),
    evaluated as exp(-d_s - logsumexp(-d_+, -d_-)).  The part of d_s that does not
    depend on s, (z**2 + m**2) / (2 sigma**2), cancels in the ratio and is dropped
    first, leaving -d_s -> s m z / sigma**2; this keeps the result exact to rounding for
    |z| in the thousands (no overflow, no large cancelling terms).
    """
    z = np.asarray(z, dtype=float)
    neg_energy_plus = m * z / sigma ** 2
    neg_energy_minus = -neg_energy_plus
    log_norm = np.logaddexp(neg_energy_plus, neg_energy_minus)
    return np.exp(neg_energy_plus - log_norm), np.exp(neg_energy_minus - log_norm)


def signed_gaussian_posterior_mean(z, m=1.0, sigma=1.0):
    """E[s | z] = r_plus - r_minus, which equals tanh(m z / sigma**2) (seed 000)."""
    r_plus, r_minus = signed_gaussian_responsibilities(z, m, sigma)
    return r_plus - r_minus


# --------------------------------------------------------------------------- seed 002

def sigmoid_to_tanh_basis(w0, w, s):
    """Sigmoid-basis weights to tanh-basis weights: returns (u0, u, scale).

    w0 + sum_j w_j sigmoid((x - mu_j) / s) = u0 + sum_j u_j tanh((x - mu_j) / scale) with
    u0 = w0 + sum_j w_j / 2,  u_j = w_j / 2,  scale = 2 s   (from sigmoid(a) = (1 + tanh(a/2)) / 2).
    """
    w = np.asarray(w, dtype=float)
    return w0 + 0.5 * np.sum(w), 0.5 * w, 2.0 * np.asarray(s, dtype=float)


def tanh_to_sigmoid_basis(u0, u, scale):
    """Inverse of :func:`sigmoid_to_tanh_basis`: w_j = 2 u_j, w0 = u0 - sum_j u_j, s = scale / 2."""
    u = np.asarray(u, dtype=float)
    return u0 - np.sum(u), 2.0 * u, 0.5 * np.asarray(scale, dtype=float)


def sigmoid_basis_model(x, w0, w, mu, s):
    """y(x) = w0 + sum_j w_j sigmoid((x - mu_j) / s); ``s`` a scalar or one per basis."""
    x = np.asarray(x, dtype=float)
    a = (x[..., None] - np.asarray(mu, dtype=float)) / s
    return w0 + expit(a) @ np.asarray(w, dtype=float)


def tanh_basis_model(x, u0, u, mu, scale):
    """y(x) = u0 + sum_j u_j tanh((x - mu_j) / scale); ``scale`` a scalar or one per basis."""
    x = np.asarray(x, dtype=float)
    a = (x[..., None] - np.asarray(mu, dtype=float)) / scale
    return u0 + np.tanh(a) @ np.asarray(u, dtype=float)


# --------------------------------------------------------------------------- seed 001

def mahalanobis(x, mean, cov):
    """D_M(x) = sqrt((x - mean)^T cov^-1 (x - mean)), by a linear solve; x is (d,) or (n, d)."""
    diff = np.atleast_2d(np.asarray(x, dtype=float) - mean)
    sol = np.linalg.solve(cov, diff.T).T
    d = np.sqrt(np.einsum("ij,ij->i", diff, sol))
    return d if np.ndim(x) > 1 else d[0]


def whitening_layer(mean, cov):
    """PCA whitening as a linear layer: (W, b) with W = Lambda^(-1/2) V^T and b = -W mean.

    cov = V Lambda V^T (``numpy.linalg.eigh``, eigenvalues ascending).  Row i of W is
    v_i^T / sqrt(lambda_i), so W cov W^T = I and node i of :func:`abs_layer` is
    |v_i^T (x - mean)| / sqrt(lambda_i): the distance along principal component i in
    standard deviations.  Eigenvector signs are arbitrary (the Abs removes them).
    """
    lam, vecs = np.linalg.eigh(np.asarray(cov, dtype=float))
    W = (vecs / np.sqrt(lam)).T
    return W, -W @ np.asarray(mean, dtype=float)


def abs_layer(x, W, b):
    """Abs-activated linear layer |W x + b| per node; x is (d,) or (n, d).

    With (W, b) from :func:`whitening_layer` (or :func:`rotated_whitening`) its L2 norm
    over nodes is the Mahalanobis distance.
    """
    return np.abs(np.asarray(x, dtype=float) @ np.asarray(W).T + b)


def relu_layer(x, W, b, margin):
    """ReLU form of the distance node (seed 001, section 4.2): max(0, margin - (W x + b)).

    With z = W x + b: inside the band |z| <= margin the output is exactly margin - z
    (ranging over 0..2 margin), so |z| = |margin - y| there; beyond z = margin it is 0.
    The exact Abs equivalent for every z is the pair of nodes (W, b) and (-W, -b):
    relu(z) + relu(-z) = |z| (:func:`abs_via_relu`).
    """
    z = np.asarray(x, dtype=float) @ np.asarray(W).T + b
    return relu(margin - z)


def rotated_whitening(W, R):
    """Another whitening matrix R W for any orthogonal R: (R W) cov (R W)^T = R R^T = I.

    Its rows are generally neither eigenvectors of cov nor mutually orthogonal, yet
    ||R W (x - mean)||_2 is still the Mahalanobis distance: whitening is unique only up
    to a rotation, so a learned layer need not find the principal components.
    """
    return np.asarray(R) @ np.asarray(W)


def random_rotation(d, rng=None):
    """A random rotation in SO(d): QR of a Gaussian matrix, signs fixed, det = +1."""
    rng = np.random.default_rng(rng)
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q
