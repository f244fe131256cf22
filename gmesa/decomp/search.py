"""``decompose``: any waveform as a sum of mesa functions, the number chosen by BIC/AIC/PRD.

Algorithm (docs/decompose.md):

1. **Dictionary.**  Candidate mesa functions of unit amplitude centred on every sample,
   with tail widths on a geometric grid (ratio 1.3) from ``min_width`` to ``max_width``,
   tail ratios sigma_right/sigma_left of 1/3, 1/2, 1, 2, 3 and plateau half-widths of
   0, 0.5, 1 and 2 tail widths (``shape="mesa"``); ``"bigaussian"`` keeps the plateau at
   0 and ``"gaussian"`` also equal tails.
2. **Forward selection** (GOFR: Gram-Schmidt orthogonal forward regression, the
   orthogonal-least-squares form of matching pursuit).  The baseline polynomial's columns
   are in the model from the start; each step adds the candidate whose part orthogonal to
   the chosen columns explains most of what is left of the signal.
3. **Refinement.**  For each K = 1, 2, ... every parameter is refined jointly, within
   bounds, by the compiled Levenberg-Marquardt :func:`gmesa.fit_many`, from several
   starts fitted in one call (the first K candidates of each selection path, the K
   largest bumps peeled off, the refined K-1 fit plus the candidate that best explains
   its residual); the lowest cost wins.  The search runs one K beyond
   ``max_components``, then improves every K by *backward* moves (the K+1 fit without
   one component), and around the chosen K by *replace* (a component swapped for the
   candidate that best explains the residual without it) and *split-and-drop* (a wide
   component split in two, a component inside it dropped) moves, and *regrows* each K
   from K-1; a move is kept when it lowers the residual at its K.
4. **K** minimises BIC (or AIC), or is the smallest K whose PRD reaches ``target_prd``.
   Residuals below 1e-4 of the signal's RMS count as an exact fit, so noise-free sums
   stop at their true K.  The forward search stops ``patience`` K after the best one.
"""
from __future__ import annotations

import numbers

import numpy as np

from . import _omp
from ._refine import COMPONENT_PARAMS, fit_components, prd_percent
from ..core import baseline_size
from .result import Decomposition

SHAPES = ("mesa", "bigaussian", "gaussian")
CRITERIA = ("bic", "aic", "prd")
#: free parameters per component, per shape
N_FREE = {"mesa": 5, "bigaussian": 4, "gaussian": 3}
#: an RSS below this fraction of the signal's sum of squares counts as 0 in BIC/AIC
EXACT_FIT = 1e-8


def _sign_value(sign):
    table = {None: 0, "any": 0, "positive": 1, "negative": -1, 1: 1, -1: -1, 0: 0}
    try:
        return table[sign]
    except (KeyError, TypeError):
        raise ValueError(f"sign={sign!r}: use None (any sign), 'positive' or 'negative'") from None


def _check_prior(prior):
    """The per-component prior as {name: (mean, sd)} of floats, or None."""
    if prior is None:
        return None
    if not isinstance(prior, dict):
        raise ValueError(f"prior must be a dict {{parameter: (mean, sd)}}, got "
                         f"{type(prior).__name__}; parameters: {', '.join(COMPONENT_PARAMS)}")
    out = {}
    for name, value in prior.items():
        if name not in COMPONENT_PARAMS:
            raise ValueError(f"prior names unknown parameter {name!r}; use "
                             f"{', '.join(COMPONENT_PARAMS)}")
        try:
            mean, sd = (float(v) for v in value)
        except (TypeError, ValueError):
            raise ValueError(f"prior[{name!r}] = {value!r}: give (mean, sd), two numbers") from None
        if not np.isfinite(mean) or not sd > 0:
            raise ValueError(f"prior[{name!r}] = ({mean!r}, {sd!r}): the mean must be finite "
                             "and sd > 0 (inf for no prior)")
        out[name] = (mean, sd)
    return out or None


def _check_inputs(x, y, weights):
    xf = np.asarray(x, dtype=np.float64).ravel()
    yf = np.asarray(y, dtype=np.float64).ravel()
    if xf.size != yf.size:
        raise ValueError(f"x has {xf.size} samples but y has {yf.size}; give one x per sample")
    if xf.size < 3:
        raise ValueError(f"y has {yf.size} samples; decompose needs at least 3")
    if not np.all(np.isfinite(xf)):
        i = int(np.argmax(~np.isfinite(xf)))
        raise ValueError(f"x[{i}] = {float(xf[i])!r} is not finite; x must be finite sample "
                         "positions")
    if np.any(np.diff(xf) <= 0):
        i = int(np.argmax(np.diff(xf) <= 0))
        raise ValueError(f"x must increase strictly (x[{i}] = {float(xf[i])!r}, x[{i + 1}] = "
                         f"{float(xf[i + 1])!r}); sort x and y together and drop repeated x")
    if weights is None:
        wf = np.ones_like(yf)
    else:
        wf = np.asarray(weights, dtype=np.float64).ravel()
        if wf.shape != yf.shape or not np.all(np.isfinite(wf)) or np.any(wf < 0):
            raise ValueError("weights must hold one finite value >= 0 per sample "
                             f"(got {wf.size} values for {yf.size} samples)")
        if not np.any(wf > 0):
            raise ValueError("every weight is 0: give some samples a positive weight")
    bad = ~np.isfinite(yf) & (wf > 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"y[{i}] is {float(yf[i])!r}; decompose needs finite samples: remove them "
                         "or give them weight 0")
    return xf, np.where(wf > 0, yf, 0.0), wf


def _check_options(max_components, criterion, shape, target_prd, patience):
    if (not isinstance(max_components, numbers.Integral) or isinstance(max_components, bool)
            or max_components < 1):
        raise ValueError(f"max_components={max_components!r}: give an integer >= 1")
    if criterion not in CRITERIA:
        raise ValueError(f"criterion={criterion!r}: use one of {CRITERIA} "
                         "('prd' stops at the first K whose PRD <= target_prd)")
    if shape not in SHAPES:
        raise ValueError(f"shape={shape!r}: use one of {SHAPES}")
    if not (isinstance(target_prd, numbers.Real) and target_prd > 0):
        raise ValueError(f"target_prd={target_prd!r}: give a PRD in percent > 0")
    if not isinstance(patience, numbers.Integral) or patience < 1:
        raise ValueError(f"patience={patience!r}: give an integer >= 1")


def _base_columns(x, nb):
    return np.stack([x ** j for j in range(nb)], axis=1) if nb else np.zeros((x.size, 0))


def _check_signal(x, y, w, nb, n_free, max_components):
    n_live = int(np.count_nonzero(w))
    need = n_free * max_components + nb + 1
    if n_live < need:
        raise ValueError(
            f"y has {n_live} usable samples, too few for max_components={max_components} "
            f"({n_free} parameters per component + {nb} baseline coefficient(s) need at "
            f"least {need}); lower max_components or give more samples")
    B = _base_columns(x, nb) * w[:, None]
    yw = y * w
    rest = yw - B @ np.linalg.lstsq(B, yw, rcond=None)[0] if nb else yw
    scale = np.sqrt(np.sum(yw ** 2)) + np.sqrt(n_live) * np.finfo(float).eps
    if np.sqrt(np.sum(rest ** 2)) <= 1e-10 * scale:
        what = "constant" if nb <= 1 else "a polynomial of the baseline's degree"
        raise ValueError(f"y is {what} (a flat signal): there is nothing to decompose; "
                         "check the channel, or use a lower-degree baseline")


def _grid(x, y, w):
    """The uniform grid the selection runs on (x itself when uniform and not too long)."""
    n = x.size
    dx = np.diff(x)
    uniform = np.all(np.abs(dx - dx.mean()) <= 1e-6 * dx.mean())
    if uniform and n <= _omp.MAX_GRID:
        return x, y, w
    xg = np.linspace(x[0], x[-1], min(n, _omp.MAX_GRID))
    return xg, np.interp(xg, x, y), np.interp(xg, x, w)


def _polarity(y, w):
    """+1 or -1: the sign of the largest excursion of y from its weighted median."""
    live = w > 0
    d = y[live] - np.median(y[live])
    return 1 if d[np.argmax(np.abs(d))] >= 0 else -1


def decompose(x, y, max_components=8, criterion="bic", shape="mesa", baseline="constant",
              weights=None, prior=None, *, sign=None, target_prd=1.0, min_width=None,
              max_width=None, patience=2, max_iter=200):
    """Decompose a waveform into K mesa functions + a baseline, K chosen from the data.

    Parameters
    ----------
    x, y : sample positions (strictly increasing) and values.
    max_components : largest K tried (K = 1 .. max_components).
    criterion : "bic" (default), "aic" -- the K that minimises it -- or "prd": the
        smallest K whose PRD is at most ``target_prd`` percent.
    shape : "mesa" (flat tops allowed), "bigaussian" (plateau 0, two tail widths) or
        "gaussian" (plateau 0, equal tails).
    baseline : "none", "constant", "linear", "quadratic" or a polynomial degree.
    weights : one weight >= 0 per sample (residual = w * (model - y)); samples of weight
        0 are ignored (they may hold NaN).
    prior : a Gaussian prior per component parameter, the same for every component:
        ``{name: (mean, sd)}`` with names from amplitude, center, half_width, sigma_left,
        sigma_right (x units; ``sd=inf``: none).  The refinements are then MAP fits
        (docs/priors.md); BIC/AIC and PRD score the data alone, the moves between starts
        compare the whole objective.
    sign : None (any), "positive" or "negative": the sign of every amplitude.
    target_prd : PRD goal (percent) for ``criterion="prd"``.
    min_width, max_width : range of the candidates' tail widths (x units); default 1.5
        sample spacings and a quarter of the span.  Refined widths may leave the range by
        a factor 2 (down) and 4 (up).
    patience : stop when the criterion has not improved for this many K.
    max_iter : iteration limit of each refinement.

    PRD (%) = 100 * |y - fit| / |y - mean(y)| over the samples of non-zero weight.
    Returns a :class:`gmesa.Decomposition`; components ``c1..cK`` sorted by centre.
    Deterministic: the same input gives the same result.
    """
    prior = _check_prior(prior)
    _check_options(max_components, criterion, shape, target_prd, patience)
    nb = baseline_size(baseline)
    sgn = _sign_value(sign)
    xf, yf, wf = _check_inputs(x, y, weights)
    _check_signal(xf, yf, wf, nb, N_FREE[shape], max_components)
    span = float(xf[-1] - xf[0])
    # fitted in units where x spans 1 and y (less its median, which a baseline takes) has
    # an RMS of 1: the result does not depend on the units of x and y (nm or m, uV or V)
    # nor on an offset of y, and the solver's tolerances meet every signal alike
    y0 = float(np.median(yf[wf > 0])) if nb else 0.0
    sx, sy = span, _rms(yf - y0, wf)
    xs, ys = xf / sx, (yf - y0) / sy
    grid = _grid(xs, ys, wf)
    lo_w = (1.5 * sx * max(float(grid[0][1] - grid[0][0]), float(np.median(np.diff(xs))))
            if min_width is None else min_width)
    hi_w = max(span / 4.0, 2.0 * lo_w) if max_width is None else max_width
    if not (0 < lo_w < hi_w):
        raise ValueError(f"min_width={lo_w!r}, max_width={hi_w!r}: give 0 < min_width < "
                         "max_width (x units)")
    rows = _fit_scaled(xs, ys, wf, grid, nb, shape, sgn, lo_w / sx, hi_w / sx,
                       _scaled_prior(prior, sx, sy), dict(
                           max_iter=max_iter, criterion=criterion, target_prd=target_prd,
                           patience=patience, k_max=max_components))
    rows = [_unscaled_row(r, sx, sy, y0, nb, int(np.count_nonzero(wf))) for r in rows]
    return Decomposition.from_rows(xf, yf, wf, rows, shape=shape, baseline=baseline,
                                   criterion=criterion, prior=prior)


def _rms(y, w):
    """RMS of the samples of non-zero weight (1 when they are all 0)."""
    v = float(np.sqrt(np.mean(y[w > 0] ** 2)))
    return v if v > 0 else 1.0


def _scaled_prior(prior, sx, sy):
    """``prior`` ({name: (mean, sd)} in x and y units) in units of ``sx`` and ``sy``."""
    if prior is None:
        return None
    unit = {"amplitude": sy}
    return {k: (m / unit.get(k, sx), s / unit.get(k, sx)) for k, (m, s) in prior.items()}


def _unscaled_row(row, sx, sy, y0, nb, n):
    """A refinement row fitted on x / ``sx`` and (y - ``y0``) / ``sy`` back in x and y
    units: each component's amplitude times sy, centre and widths times sx, baseline
    coefficient j times sy / sx**j (and y0 added to the constant); RSS times sy**2 and
    BIC/AIC shifted by ``n`` ln(sy**2)."""
    k = int(row["K"])
    scale = np.concatenate([np.tile([sy, sx, sx, sx, sx], k), sy / sx ** np.arange(nb)])
    out = dict(row)
    out["params"] = np.asarray(row["params"], float) * scale
    if nb:
        out["params"][5 * k] += y0
    out["stderr"] = np.asarray(row["stderr"], float) * scale
    out["rss"] = row["rss"] * sy ** 2
    for c in ("bic", "aic"):
        out[c] = row[c] + n * np.log(sy ** 2)
    return out


def _fit_scaled(xf, yf, wf, grid, nb, shape, sgn, lo_w, hi_w, prior, opts):
    """The refinement rows of :func:`decompose` (x, y and widths already scaled; ``grid``
    their :func:`_grid`)."""
    span = float(xf[-1] - xf[0])
    xg, yg, wg = grid
    dxg = float(xg[1] - xg[0])
    max_components = opts["k_max"]
    dic = _omp.Dictionary(xg.size, dxg, _omp.shape_grid(dxg, span, shape, lo_w, hi_w))
    paths, polarity = [], (sgn or _polarity(yg, wg))
    # one candidate beyond max_components (when the samples allow it) for the backward pass
    n_atoms = max_components + int(np.count_nonzero(wf) > N_FREE[shape] * (max_components + 1)
                                    + nb + 1)
    for path_sign in ([sgn] if sgn else [0, polarity]):
        chosen, _ = _omp.forward_select(dic, yg, wg, _base_columns(xg, nb), n_atoms, path_sign)
        paths.append(([(float(xg[j]),) + tuple(dic.shapes[s]) for s, j in chosen], path_sign))
    return fit_components(xf, yf, wf, nb, shape, sgn, paths, dict(
        opts, grid=(xg, wg, dic), width_range=(0.5 * lo_w, 4.0 * hi_w),
        signs=(sgn,) if sgn else (0, polarity), n_free=N_FREE[shape], exact=EXACT_FIT,
        prior=prior))


__all__ = ["decompose", "prd_percent", "SHAPES", "CRITERIA"]
