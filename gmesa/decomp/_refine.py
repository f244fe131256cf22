"""Private: the per-K refinement and scoring behind :func:`gmesa.decompose`."""
from __future__ import annotations

import math

import numpy as np
from scipy.optimize import least_squares

from .. import _kernels as K
from . import _omp
from ..guess import greedy_guess
from ..solvers import fit_many
from ..solvers._checks import prior_cost


def prd_percent(y, fit, w=None):
    """PRD (%) = 100 * |y - fit| / |y - mean(y)| over the samples of non-zero weight."""
    y, fit = np.asarray(y, float), np.asarray(fit, float)
    m = np.ones(y.shape, bool) if w is None else np.asarray(w) > 0
    d = y[m] - np.mean(y[m])
    den = float(np.sqrt(d @ d))
    r = y[m] - fit[m]
    return 100.0 * float(np.sqrt(r @ r)) / den if den > 0 else math.nan


def baseline_spec(nb):
    """The ``baseline=`` spec of a baseline with ``nb`` coefficients."""
    return nb - 1 if nb else "none"


def model(x, params, k, nb):
    out = np.empty(x.size)
    K.mesa_sum_into(np.ascontiguousarray(x, dtype=np.float64),
                    np.ascontiguousarray(params, dtype=np.float64), k, 0, nb, out)
    return out


def ls_start(x, y, w, nb, atoms, sign):
    """Start vector: the atoms' shapes, amplitudes and baseline by weighted least squares."""
    cols = []
    for c, h, sl, sr in atoms:
        g = np.empty(x.size)
        K.gmf_value_into(x, 1.0, c, h, sl, sr, g)
        cols.append(g)
    cols += [x ** j for j in range(nb)]
    A = np.stack(cols, axis=1) * w[:, None]
    coef = np.linalg.lstsq(A, y * w, rcond=None)[0]
    amps = coef[:len(atoms)]
    if sign:
        floor = 1e-3 * max(float(np.max(np.abs(amps))), 1e-12)
        amps = np.where(sign * amps > 0, amps, sign * floor)
    p = [v for a, atom in zip(amps, atoms) for v in (a,) + tuple(atom)]
    return np.array(p + list(coef[len(atoms):]), dtype=np.float64)


def peel_start(x, y, w, nb, k, sign):
    """Start vector from peeling off the K largest bumps (:func:`gmesa.guess.greedy_guess`),
    amplitudes and baseline then by least squares."""
    live = w > 0
    vec = greedy_guess(x[live], y[live], k, nb)
    rows = vec[:5 * k].reshape(k, 5)
    if sign and np.any(sign * rows[:, 0] <= 0):
        return None
    return ls_start(x, y, w, nb, [tuple(r[1:]) for r in rows], sign)


def grow_starts(x, y, w, nb, prev, signs, grid):
    """The refined K-1 vector plus the candidate that best explains its residual, one
    start per sign in ``signs`` (0: any sign)."""
    xg, wg, dic = grid
    k = (prev.size - nb) // 5
    r = y - model(x, prev, k, nb)
    rg = r if xg.size == x.size and np.array_equal(xg, x) else np.interp(xg, x, r)
    starts = []
    for s, j, amp in _omp.best_atoms(dic, rg, wg, signs):
        if amp != 0.0:
            new = np.array((amp, float(xg[j])) + tuple(dic.shapes[s]))
            starts.append(np.concatenate([prev[:5 * k], new, prev[5 * k:]]))
    return starts


def bounds(x, k, nb, shape, sign, width_range):
    """Bounds of a K-component vector: centres inside x, widths in ``width_range``,
    plateaus up to half the span (0 unless ``shape == "mesa"``), amplitude sign."""
    span = float(x[-1] - x[0])
    lo = np.full(5 * k + nb, -np.inf)
    hi = np.full(5 * k + nb, np.inf)
    for i in range(k):
        o = 5 * i
        if sign > 0:
            lo[o] = 0.0
        elif sign < 0:
            hi[o] = 0.0
        lo[o + 1], hi[o + 1] = x[0], x[-1]
        lo[o + 2], hi[o + 2] = 0.0, (0.5 * span if shape == "mesa" else 0.0)
        lo[o + 3:o + 5], hi[o + 3:o + 5] = width_range
    return lo, hi


def _tie_matrix(k, nb):
    """Map (amplitude, center, sigma) per component + baseline -> the full vector
    (half_width 0, sigma_left = sigma_right = sigma)."""
    M = np.zeros((5 * k + nb, 3 * k + nb))
    for i in range(k):
        M[5 * i, 3 * i] = M[5 * i + 1, 3 * i + 1] = 1.0
        M[5 * i + 3, 3 * i + 2] = M[5 * i + 4, 3 * i + 2] = 1.0
    M[5 * k:, 3 * k:] = np.eye(nb)
    return M


def _refine_tied(x, y, w, nb, starts, lo, hi, max_iter, prior=None):
    """Equal tails (shape "gaussian"): SciPy least_squares on the tied parameters
    (amplitude, center, sigma) per component + baseline, analytic Jacobian; a prior
    adds the rows ``(p - mean)/sd`` of the full vector ``p``."""
    k = (starts[0].size - nb) // 5
    M = _tie_matrix(k, nb)
    pick = np.array([5 * i + j for i in range(k) for j in (0, 1, 3)]
                    + list(range(5 * k, 5 * k + nb)), dtype=int)
    out, jt = np.empty(x.size), np.empty((M.shape[0], x.size))
    mean, sd = prior if prior is not None else (np.zeros(M.shape[0]), np.full(M.shape[0], np.inf))
    fin = np.isfinite(sd)

    def fun(q):
        K.mesa_sum_into(x, M @ q, k, 0, nb, out)
        return np.concatenate([w * (out - y), ((M @ q - mean) / sd)[fin]])

    def jac(q):
        K.mesa_sum_jac_into(x, M @ q, k, 0, nb, out, jt)
        return np.vstack([(jt.T * w[:, None]) @ M, M[fin] / sd[fin, None]])

    best = None
    for p0 in starts:
        q0 = p0[pick].copy()
        q0[2:3 * k:3] = np.sqrt(p0[3:5 * k:5] * p0[4:5 * k:5])
        q0 = np.clip(q0, lo[pick], hi[pick])
        res = least_squares(fun, q0, jac=jac, bounds=(lo[pick], hi[pick]), method="trf",
                            max_nfev=max_iter)
        if best is None or res.cost < best.cost:
            best = res
    J = jac(best.x)
    dof = max(int(np.count_nonzero(w)) + int(fin.sum()) - best.x.size, 1)
    se = np.full(M.shape[0], np.nan)
    try:
        cov = M @ np.linalg.inv(J.T @ J) @ M.T * (2.0 * best.cost / dof)
        tied = M.any(axis=1)
        se[tied] = np.sqrt(np.clip(np.diag(cov)[tied], 0, None))
    except np.linalg.LinAlgError:
        pass
    p = M @ best.x
    extra = _prior_cost(p, prior)
    return p, se, float(best.cost) - extra, (1 if best.status > 0 else -1), float(best.cost)


#: the parameters of one component, in the order of the parameter vector
COMPONENT_PARAMS = ("amplitude", "center", "half_width", "sigma_left", "sigma_right")


def prior_arrays(prior, k, nb):
    """``(mean, sd)`` of a K-component vector from a per-component ``prior``
    (parameter name -> (mean, sd), the same for every component), or None."""
    if not prior:
        return None
    mean, sd = np.zeros(5 * k + nb), np.full(5 * k + nb, np.inf)
    for j, name in enumerate(COMPONENT_PARAMS):
        if name in prior:
            mean[j:5 * k:5], sd[j:5 * k:5] = prior[name]
    return mean, sd


def refine(x, y, w, nb, shape, starts, lo, hi, max_iter, prior=None):
    """Refine every start within the bounds (MAP under ``prior``, from
    :func:`prior_arrays`); (params, stderr, data cost, status, objective) of the best,
    the objective being the data cost plus the prior's."""
    starts = [np.clip(s, lo, hi) for s in starts]
    if shape == "gaussian":  # bi-Gaussian fit first (compiled), then tie the tails
        first = refine(x, y, w, nb, "bigaussian", starts, lo, hi, max_iter, prior)[0]
        return _refine_tied(x, y, w, nb, [first] + starts[:1], lo, hi, max_iter, prior)
    fit = fit_many(x, np.broadcast_to(y, (len(starts), y.size)), np.stack(starts), lo, hi,
                   baseline=baseline_spec(nb), weights=w, max_iter=max_iter, check=False,
                   prior=prior)
    cost = np.where(np.isfinite(fit.cost) & np.all(np.isfinite(fit.params), axis=1),
                    fit.cost, np.inf)
    b = int(np.argmin(cost))
    if not np.isfinite(cost[b]):  # every start failed: keep the first start as it is
        r = w * (y - model(x, starts[0], (starts[0].size - nb) // 5, nb))
        data = 0.5 * float(r @ r)
        return (starts[0], np.full(starts[0].size, np.nan), data, int(fit.status[0]),
                data + _prior_cost(starts[0], prior))
    return (fit.params[b], fit.stderr[b], float(fit.data_cost[b]), int(fit.status[b]),
            float(fit.cost[b]))


def _prior_cost(p, prior):
    """The prior's part of the objective at ``p`` (0 without a prior)."""
    if prior is None:
        return 0.0
    mean, sd = prior
    return float(prior_cost(p[None, :], True, (mean, 1.0 / sd))[0])


def _score(x, y, w, nb, k, params, cost, n_free, exact):
    n = int(np.count_nonzero(w))
    ss = float(np.sum((w * (y - np.average(y, weights=w))) ** 2))
    rss = max(2.0 * cost, exact * ss, 1e-300)
    p = n_free * k + nb
    fit = model(x, params, k, nb)
    return dict(K=k, n_params=p, rss=2.0 * cost, prd=prd_percent(y, fit, w),
                bic=n * math.log(rss / n) + p * math.log(n),
                aic=n * math.log(rss / n) + 2.0 * p)


#: starts the backward pass refines at each K (the best drops by a linear refit)
DROP_STARTS = 3


def _drop_starts(x, y, w, nb, prev, sign):
    """The K-1 component vectors obtained by dropping one component of ``prev`` whose
    least-squares refit of the amplitudes and baseline (shapes kept) costs least."""
    k = (prev.size - nb) // 5
    shapes = prev[:5 * k].reshape(k, 5)[:, 1:]
    scored = []
    for i in range(k):
        atoms = [tuple(a) for j, a in enumerate(shapes) if j != i]
        start = ls_start(x, y, w, nb, atoms, sign)
        r = w * (y - model(x, start, k - 1, nb))
        scored.append((float(r @ r), i, start))
    scored.sort(key=lambda t: (t[0], t[1]))
    return [s for _, _, s in scored[:DROP_STARTS]]


def _forward(x, y, w, nb, shape, sign, paths, opts):
    """K = 1, 2, ...: refine the first K atoms of each selection path and the grown K-1
    fit; stop ``patience`` K after the best criterion (or at the PRD target)."""
    rows, prev, best = [], None, None
    crit = opts["criterion"]
    for k in range(1, max(len(a) for a, _ in paths) + 1):
        starts = [ls_start(x, y, w, nb, a[:k], s) for a, s in paths if len(a) >= k]
        peeled = peel_start(x, y, w, nb, k, sign)
        if peeled is not None:
            starts.append(peeled)
        if prev is not None:
            starts += grow_starts(x, y, w, nb, prev, opts["signs"], opts["grid"])
        rows.append(_refined_row(x, y, w, nb, shape, sign, starts, opts))
        prev = rows[-1]["params"]
        if crit == "prd":
            if rows[-1]["prd"] <= opts["target_prd"]:
                break
            continue
        if best is None or rows[-1][crit] < rows[best][crit]:
            best = len(rows) - 1
        elif len(rows) - 1 - best >= opts["patience"]:
            break
    return rows


def _refined_row(x, y, w, nb, shape, sign, starts, opts):
    k = (starts[0].size - nb) // 5
    lo, hi = bounds(x, k, nb, shape, sign, opts["width_range"])
    params, se, cost, status, objective = refine(
        x, y, w, nb, shape, starts, lo, hi, opts["max_iter"], prior_arrays(opts["prior"], k, nb))
    row = _score(x, y, w, nb, k, params, cost, opts["n_free"], opts["exact"])
    row.update(params=params, stderr=se, status=status, selected=False,
               objective=2.0 * objective)
    return row


def _backward(x, y, w, nb, shape, sign, rows, opts):
    """K = Kmax-1 .. 1: refit the best K+1 fit without each of its components in turn;
    keep the result when it beats the fit at K.  Returns whether any K improved."""
    improved = False
    for i in range(len(rows) - 2, -1, -1):
        cand = _refined_row(x, y, w, nb, shape, sign,
                            _drop_starts(x, y, w, nb, rows[i + 1]["params"], sign), opts)
        if cand["objective"] < (1 - 1e-9) * rows[i]["objective"]:
            rows[i], improved = cand, True
    return improved


def _regrow(x, y, w, nb, shape, sign, rows, opts):
    """K = 2 .. Kmax: refit the best K-1 fit plus the candidate that best explains its
    residual; keep the result when it beats the fit at K.  Returns whether any improved."""
    improved = False
    for i in range(1, len(rows)):
        grown = grow_starts(x, y, w, nb, rows[i - 1]["params"], opts["signs"], opts["grid"])
        if not grown:
            continue
        cand = _refined_row(x, y, w, nb, shape, sign, grown, opts)
        if cand["objective"] < (1 - 1e-9) * rows[i]["objective"]:
            rows[i], improved = cand, True
    return improved


#: most starts of the split-and-drop move refined at each K (the best by a linear refit)
SPLIT_STARTS = 8


def split_starts(x, y, w, nb, p, sign, shape):
    """K-component starts: one component split in two at its plateau's ends (or half
    its tail widths out) and another one *inside its extent* (centre within 2 tail
    widths of its plateau) dropped; at most :data:`SPLIT_STARTS`, best linear refit first.

    It undoes a common local minimum: one wide (flat-topped) component over two
    overlapping peaks, and a small one (often of the other sign) patching the difference."""
    k = (p.size - nb) // 5
    if k < 2:
        return []
    comps = p[:5 * k].reshape(k, 5)
    scored = []
    for j, (a, c, h, sl, sr) in enumerate(comps):
        d_l, d_r = max(h, 0.5 * sl), max(h, 0.5 * sr)
        inner = 0.5 * (d_l + d_r)
        halves = [(c - d_l, 0.0, sl, inner), (c + d_r, 0.0, inner, sr)]
        if shape == "gaussian":
            halves = [(c - d_l, 0.0, inner, inner), (c + d_r, 0.0, inner, inner)]
        for m in range(k):
            if m == j or not c - h - 2 * sl <= comps[m, 1] <= c + h + 2 * sr:
                continue
            atoms = [tuple(comps[i, 1:]) for i in range(k) if i not in (j, m)] + halves
            start = ls_start(x, y, w, nb, atoms, sign)
            r = w * (y - model(x, start, k, nb))
            scored.append((float(r @ r), j, m, start))
    scored.sort(key=lambda t: t[:3])
    return [t[3] for t in scored[:SPLIT_STARTS]]


def _replace(x, y, w, nb, shape, sign, rows, opts, focus):
    """K in ``focus`` (row indices): replace each component in turn by the candidate that
    best explains the residual without it, and split-and-drop (:func:`split_starts`);
    keep the best refit when it beats the fit at K."""
    improved = False
    for i in focus:
        row = rows[i]
        p = row["params"]
        k = (p.size - nb) // 5
        starts = []
        for j in range(k):
            rest = np.delete(p, np.s_[5 * j:5 * j + 5])
            starts += grow_starts(x, y, w, nb, rest, opts["signs"], opts["grid"])
        starts += split_starts(x, y, w, nb, p, sign, shape)
        if not starts:
            continue
        cand = _refined_row(x, y, w, nb, shape, sign, starts, opts)
        if cand["objective"] < (1 - 1e-9) * row["objective"]:
            rows[i], improved = cand, True
    return improved


#: improvement sweeps after the first forward-backward pass: replace components around
#: the chosen K, regrow every K from K-1, backward again (stop when nothing improves)
SWEEPS = 2


def fit_components(x, y, w, nb, shape, sign, paths, opts):
    """Refine K = 1, 2, ... components (see :func:`gmesa.decompose`); one dict per K,
    the chosen one with ``selected=True``.  ``paths``: (atoms, sign) of each selection;
    K up to ``opts["k_max"]`` is chosen, K = k_max + 1 (when the paths reach it) only
    feeds the backward pass."""
    opts = dict(opts, n=int(np.count_nonzero(w)))  # samples that count, for _choose
    rows = _forward(x, y, w, nb, shape, sign, paths, opts)
    improved = _backward(x, y, w, nb, shape, sign, rows, opts)
    n_sel = min(len(rows), opts["k_max"])
    for _ in range(SWEEPS):
        best = _choose(rows[:n_sel], opts)
        focus = [i for i in (best - 1, best, best + 1) if 0 <= i < len(rows)]
        improved = _replace(x, y, w, nb, shape, sign, rows, opts, focus) or improved
        if not improved:
            break
        improved = _regrow(x, y, w, nb, shape, sign, rows, opts)
        improved = _backward(x, y, w, nb, shape, sign, rows, opts) or improved
    rows = rows[:n_sel]
    rows[_choose(rows, opts)]["selected"] = True
    return rows


#: BIC and AIC choose among the K with at least this many samples per free parameter:
#: with fewer, they reward fitting the noise (a Gaussian of 50 samples rounded to integers
#: took K = 8, 41 parameters, below the rounding's noise floor)
SAMPLES_PER_PARAM = 3


def _choose(rows, opts):
    """Row index of the chosen K: the criterion's minimum among the K with
    :data:`SAMPLES_PER_PARAM` samples per parameter (``opts["n"]`` samples; all K when
    none has), or the first K at the PRD target (the lowest PRD when none reaches it)."""
    crit = opts["criterion"]
    if crit == "prd":
        hit = [i for i, r in enumerate(rows) if r["prd"] <= opts["target_prd"]]
        return hit[0] if hit else int(np.argmin([r["prd"] for r in rows]))
    score = np.array([r[crit] for r in rows], dtype=float)
    room = np.array([SAMPLES_PER_PARAM * r["n_params"] <= opts["n"] for r in rows])
    return int(np.argmin(np.where(room, score, np.inf) if room.any() else score))
