"""Input checks shared by nnlib's functions: clear errors instead of silent wrong numbers."""
import numpy as np


def as_float_array(x, name, ndim=None):
    """Return ``x`` as a float64 array; raise naming ``name`` on bad dtype, rank or NaN."""
    if type(x) is np.ndarray and x.dtype == np.float64:
        arr = x                 # the common case, checked without numpy's dtype machinery
    else:
        arr = np.asarray(x)
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
        if np.iscomplexobj(arr):
            raise TypeError(f"{name} must be real, got dtype {arr.dtype}")
        arr = arr.astype(np.float64, copy=False)
    if ndim is not None and arr.ndim not in (ndim if isinstance(ndim, (tuple, list)) else (ndim,)):
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if np.isnan(arr).any():
        index = tuple(int(i) for i in np.argwhere(np.isnan(arr))[0])
        raise ValueError(f"{name} contains NaN at index {index}")
    return arr


def same_length(a, b, name_a, name_b):
    """Raise ValueError naming both shapes unless 1-D ``a`` and ``b`` have equal length."""
    if a.shape != b.shape:
        raise ValueError(f"{name_a} has shape {a.shape} but {name_b} has shape {b.shape}; "
                         "they must have the same length")
