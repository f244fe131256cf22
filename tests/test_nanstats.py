"""gmesa._nanstats: numpy's NaN statistics, bit for bit, on a faster path."""
import warnings

import numpy as np
import pytest

from gmesa._nanstats import nanmedian


@pytest.mark.parametrize("shape", [(400, 301), (6, 5), (3, 700), (4, 5, 6)])
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
