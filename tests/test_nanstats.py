"""gmesa._nanstats: numpy's NaN statistics, bit for bit, on a faster path."""
import warnings

import numpy as np
import pytest

from gmesa._nanstats import nanmedian


@pytest.mark.parametrize("shape", [(400, 301), (6, 5), (3, 700), (4, 5, 6), (1, 4), (5, 1)])
@pytest.mark.parametrize("nan_share", [0.0, 0.02, 1.0])
def test_nanmedian_is_numpys_bit_for_bit(shape, nan_share):
    rng = np.random.default_rng(1)
    a = rng.standard_normal(shape)
    a[rng.random(shape) < nan_share] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN lanes, as numpy's
        for axis in (0, 1, -1, None):
            for keepdims in (False, True):
                ours = nanmedian(a, axis=axis, keepdims=keepdims)
                ref = np.nanmedian(a, axis=axis, keepdims=keepdims)
                assert np.shape(ours) == np.shape(ref)
                assert np.array_equal(np.asarray(ours).view(np.int64),
                                      np.asarray(ref).view(np.int64))


def test_nanmedian_of_rows_padded_with_nan():
    """Beat rows: each row's own length of samples, NaN after (odd and even counts)."""
    rng = np.random.default_rng(2)
    rows = rng.standard_normal((300, 90))
    lengths = rng.integers(1, 91, 300)
    rows[np.arange(90)[None, :] >= lengths[:, None]] = np.nan
    ours, ref = nanmedian(rows, axis=1), np.nanmedian(rows, axis=1)
    assert np.array_equal(ours.view(np.int64), ref.view(np.int64))
    assert np.array_equal(ours, [np.median(r[:k]) for r, k in zip(rows, lengths)])
