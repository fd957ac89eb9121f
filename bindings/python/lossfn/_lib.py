"""Loading liblossfn and the plumbing every family module shares.

The library is found, in order, at:

1. ``$LOSSFN_LIBRARY`` (a path to the shared library; when set, nothing else is tried),
2. beside this package: ``pip install ./bindings/python`` builds it with cargo and bundles it,
3. the build trees of a source checkout: ``<repo>/target/release``, ``<repo>/target/debug``,
   ``<repo>/build`` (CMake).

Array conversion (one rule for every loss; see :func:`float_array` and :func:`index_array`):
arrays and array-likes with a dtype of their own (numpy arrays, objects with ``__array__``
such as CPU torch tensors, memoryview, ``array.array``) keep it and are passed without a copy;
Python lists, tuples and scalars, which have none, take the dtype of the loss's first float
argument (float64 when that is itself a list).
"""
from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Tuple, Union

import numpy as np

_NAMES = {"linux": "liblossfn.so", "darwin": "liblossfn.dylib", "win32": "lossfn.dll"}
_LIBNAME = _NAMES.get(sys.platform, "liblossfn.so")
_HERE = Path(__file__).resolve().parent

REDUCTIONS = {"none": 0, "mean": 1, "sum": 2, "batchmean": 3}
LAYOUTS = {"ncs": 0, "nchw": 0, "nsc": 1, "nhwc": 1}


class LossfnError(RuntimeError):
    """A lossfn call failed: ``status`` is the C status code, ``name`` its LOSSFN_* name and
    ``message`` the library's message (the calling thread's own: messages are per thread)."""

    def __init__(self, status: int, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.status = status
        self.name = name
        self.message = message


def _checkout_candidates() -> Iterator[Path]:
    for root in [_HERE, *_HERE.parents][:5]:
        for sub in ("target/release", "target/debug", "build", "build/cargo/release"):
            yield root / sub / _LIBNAME


def _load() -> ctypes.CDLL:
    env = os.environ.get("LOSSFN_LIBRARY")
    if env:
        if not Path(env).is_file():
            raise OSError(f"LOSSFN_LIBRARY is set to {env!r}, but no file exists there; "
                          "point it at liblossfn's shared library or unset it to use the bundled one")
        try:
            return ctypes.CDLL(env)
        except OSError as e:
            raise OSError(f"LOSSFN_LIBRARY is set to {env!r}, but it cannot be loaded: {e}") from e
    tried = []
    for path in [_HERE / _LIBNAME, *_checkout_candidates()]:
        tried.append(str(path))
        if path.is_file():
            try:
                return ctypes.CDLL(str(path))
            except OSError as e:
                raise OSError(f"liblossfn at {path} cannot be loaded: {e}; reinstall the package "
                              "(pip install ./bindings/python) or set LOSSFN_LIBRARY") from e
    raise OSError(
        f"liblossfn not found: the lossfn package at {_HERE} was installed without its shared library "
        f"({_LIBNAME}). Reinstall it with pip from a source checkout (pip install ./bindings/python), which "
        "builds the library with cargo and bundles it, or set LOSSFN_LIBRARY to the library's path. "
        "Tried: " + ", ".join(tried)
    )


lib = _load()
lib.lossfn_status_name.restype = ctypes.c_char_p
lib.lossfn_status_name.argtypes = [ctypes.c_uint32]
lib.lossfn_last_error.restype = ctypes.c_size_t
lib.lossfn_last_error.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
lib.lossfn_version_string.restype = ctypes.c_char_p
lib.lossfn_version_number.restype = ctypes.c_uint32
lib.lossfn_set_num_threads.restype = ctypes.c_uint32
lib.lossfn_set_num_threads.argtypes = [ctypes.c_size_t]
lib.lossfn_get_num_threads.restype = ctypes.c_size_t


class Shape(ctypes.Structure):
    """``lossfn_shape``: batch, classes, spatial (product of trailing dims), layout."""

    _fields_ = [
        ("batch", ctypes.c_size_t),
        ("classes", ctypes.c_size_t),
        ("spatial", ctypes.c_size_t),
        ("layout", ctypes.c_uint32),
    ]


# The output controls every options struct ends with (DESIGN §6.1).
CONTROLS = [("loss_weight", ctypes.c_double), ("avg_factor", ctypes.c_double), ("accumulate", ctypes.c_bool)]


class Options(ctypes.Structure):
    """Base of the options structs: a struct's own fields positionally, then the controls by
    keyword with their C defaults (loss_weight 1, avg_factor 0 = unused, accumulate false)."""

    def __init__(self, *args, loss_weight=1.0, avg_factor=0.0, accumulate=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_weight = loss_weight
        self.avg_factor = avg_factor
        self.accumulate = accumulate


def version():
    """The loaded library's version string."""
    return lib.lossfn_version_string().decode()


def set_num_threads(n):
    """Threads later calls use (0 = default: $LOSSFN_NUM_THREADS or all cores; 1 = caller only)."""
    check(lib.lossfn_set_num_threads(n))


def get_num_threads():
    return lib.lossfn_get_num_threads()


def check(status):
    """Raises LossfnError for a non-zero status, with the calling thread's message."""
    if status != 0:
        n = lib.lossfn_last_error(None, 0)
        buf = ctypes.create_string_buffer(n + 1)
        lib.lossfn_last_error(buf, n + 1)
        raise LossfnError(status, lib.lossfn_status_name(status).decode(), buf.value.decode(errors="replace"))


def enum(value, table, what):
    """A named option value (case-insensitive) or its C constant."""
    if isinstance(value, str):
        try:
            return table[value.lower()]
        except KeyError:
            raise ValueError(f"{what} must be one of {sorted(table)}, not {value!r}") from None
    return int(value)


def reduction(value):
    """A reduction given as "none"/"mean"/"sum"/"batchmean" (or the C constant)."""
    return enum(value, REDUCTIONS, "reduction")


def float_array(name, value, dtype=None):
    """A C-contiguous float32/float64 array (lists become float64, or `dtype` when given)."""
    if not isinstance(value, np.ndarray):
        value = np.asarray(value, dtype=dtype or np.float64)
    if value.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 or float64, not {value.dtype}")
    if dtype is not None and value.dtype != dtype:
        raise TypeError(f"{name} is {value.dtype} but the other inputs are {np.dtype(dtype)}")
    if not value.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous (use np.ascontiguousarray)")
    return value


def optional_float_array(name, value, dtype, size):
    if value is None:
        return None
    value = float_array(name, value, dtype)
    if value.size != size:
        raise ValueError(f"{name} has {value.size} elements, expected {size}")
    return value


def index_array(name, value, size):
    """A C-contiguous int64 array of `size` class indices."""
    if not isinstance(value, np.ndarray):
        value = np.asarray(value, dtype=np.int64)
    if value.dtype != np.int64:
        raise TypeError(f"{name} must be int64, not {value.dtype}")
    if not value.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous (use np.ascontiguousarray)")
    if value.size != size:
        raise ValueError(f"{name} has {value.size} elements, expected {size}")
    return value


def ptr(array):
    """The data pointer of an array, or NULL for None."""
    return None if array is None else ctypes.c_void_p(array.ctypes.data)


def suffix(dtype):
    return "f32" if np.dtype(dtype) == np.float32 else "f64"


def function(name, dtype):
    """The C function `lossfn_<name>_<f32|f64>`, typed for raw pointer arguments."""
    fn = getattr(lib, f"lossfn_{name}_{suffix(dtype)}")
    fn.restype = ctypes.c_uint32
    return fn


def reduced(loss, reduction_code, shape):
    """The loss output as users expect it: a 0-d array, or the unreduced values in `shape`."""
    if reduction_code == REDUCTIONS["none"]:
        return loss.reshape(shape)
    return loss.reshape(())
