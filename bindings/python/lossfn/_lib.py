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
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

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


# The output controls every options struct ends with (docs/api.md §3).
CONTROLS: List[Tuple[str, Any]] = [("loss_weight", ctypes.c_double), ("avg_factor", ctypes.c_double), ("accumulate", ctypes.c_bool)]


class Options(ctypes.Structure):
    """Base of the options structs: a struct's own fields positionally, then the controls by
    keyword with their C defaults (loss_weight 1, avg_factor 0 = unused, accumulate false)."""

    def __init__(self, *args, loss_weight=1.0, avg_factor=0.0, accumulate=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_weight = loss_weight
        self.avg_factor = avg_factor
        self.accumulate = accumulate


ArrayLike = Any
"""What the losses accept as an array: a numpy array, an object with ``__array__`` (e.g. a CPU
torch tensor), a buffer (memoryview, ``array.array``), or nested Python lists / scalars."""
Reduction = Union[str, int]
LossGrad = Tuple[np.ndarray, Optional[np.ndarray]]


def version() -> str:
    """The loaded library's version string, "MAJOR.MINOR.PATCH"."""
    return lib.lossfn_version_string().decode()


def set_num_threads(n: int) -> None:
    """Sets the number of threads later calls use, for the whole process.

    Results are bitwise identical for any thread count, and it may be called while other
    threads are computing.

    Parameters
    ----------
    n : int
        0 restores the default ($LOSSFN_NUM_THREADS, else every core); 1 computes on the
        calling thread only.

    Raises
    ------
    TypeError
        n is not an int.
    ValueError
        n is negative.
    LossfnError
        The library refused n (more than 4096).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    check(lib.lossfn_set_num_threads(int(n)))


def get_num_threads() -> int:
    """The number of threads calls use now (see :func:`set_num_threads`)."""
    return int(lib.lossfn_get_num_threads())


def check(status: int) -> None:
    """Raises LossfnError for a non-zero status, with the calling thread's message."""
    if status != 0:
        n = lib.lossfn_last_error(None, 0)
        buf = ctypes.create_string_buffer(n + 1)
        lib.lossfn_last_error(buf, n + 1)
        raise LossfnError(status, lib.lossfn_status_name(status).decode(), buf.value.decode(errors="replace"))


def enum(value: Union[str, int], table: Dict[str, int], what: str) -> int:
    """A named option value (case-insensitive) or its C constant."""
    if isinstance(value, str):
        try:
            return table[value.lower()]
        except KeyError:
            raise ValueError(f"{what} must be one of {sorted(table)}, not {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{what} must be one of {sorted(table)} (or its C constant), not {value!r}")
    return int(value)


def reduction(value: Reduction) -> int:
    """A reduction given as "none"/"mean"/"sum"/"batchmean" (or the C constant)."""
    return enum(value, REDUCTIONS, "reduction")


_UNTYPED = (list, tuple, int, float)  # Python values with no dtype of their own (bool is an int)
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _what(value: Any) -> str:
    return type(value).__name__


def _asarray(name: str, value: Any, dtype: Any = None) -> np.ndarray:
    """np.asarray, with numpy's own conversion errors turned into ones naming the argument:
    TypeError for a non-array or non-numbers, ValueError for ragged nesting."""
    if value is None or isinstance(value, (str, bytes, dict, set)):
        raise TypeError(f"{name} must be an array, got {_what(value)}")
    try:
        a = np.asarray(value)
    except (TypeError, ValueError) as e:
        raise type(e)(f"{name} cannot be converted to an array ({_what(value)}: {e})") from None
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, got {_what(value)} converting to dtype {a.dtype}")
    return a if dtype is None else a.astype(dtype, copy=False)


def _contiguous(name: str, a: np.ndarray) -> np.ndarray:
    if not a.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous, got strides {a.strides} for shape {a.shape} "
                         "(use np.ascontiguousarray)")
    if not a.flags.aligned:
        raise ValueError(f"{name} is not aligned to its {a.dtype} element size (copy it with np.array)")
    return a


def dtype_kind(name: str, value: Any) -> str:
    """numpy's dtype kind of `value` ("f" float, "i"/"u" integer, "b" bool, ...) without converting
    an array that already is one."""
    dt = getattr(value, "dtype", None)
    if isinstance(dt, np.dtype):
        return dt.kind
    return _asarray(name, value).dtype.kind


def float_array(name: str, value: ArrayLike, dtype: Any = None) -> np.ndarray:
    """`value` as a C-contiguous float32/float64 numpy array named `name` in errors.

    A value with a dtype of its own (numpy array, ``__array__``, buffer) keeps it and is not
    copied: its dtype must be float32 or float64, and equal to `dtype` when given (the loss's
    first float argument). A Python list/tuple/scalar becomes `dtype` (float64 when None).
    Raises TypeError for a non-array or a wrong dtype, ValueError for ragged or non-contiguous
    data.
    """
    if isinstance(value, _UNTYPED):
        a = _asarray(name, value, np.float64 if dtype is None else dtype)
    else:
        a = value if isinstance(value, np.ndarray) else _asarray(name, value)
        if a.dtype not in _FLOATS:
            raise TypeError(f"{name} must be a float32 or float64 array, got {_what(value)} of dtype {a.dtype}")
        if dtype is not None and a.dtype != dtype:
            raise TypeError(f"{name} has dtype {a.dtype} but the loss's first input is {np.dtype(dtype)}; "
                            "pass arrays of one dtype")
    return _contiguous(name, a)


def optional_float_array(name: str, value: Optional[ArrayLike], dtype: Any, size: int) -> Optional[np.ndarray]:
    """None, or float_array(name, value, dtype) holding exactly `size` values (any shape)."""
    if value is None:
        return None
    a = float_array(name, value, dtype)
    if a.size != size:
        raise ValueError(f"{name} has {a.size} elements (shape {a.shape}), expected {size}")
    return a


_INT64_MAX = np.iinfo(np.int64).max


def index_array(name: str, value: ArrayLike, size: int) -> np.ndarray:
    """`value` as a C-contiguous int64 array of `size` class indices (any shape).

    Integer arrays of any width (int8/16/32/64, uint8/16/32/64) are accepted: int64 passes
    without a copy, the others are converted to int64. Python lists of ints become int64.
    Raises TypeError for bool, float or non-integer data and ValueError for a wrong size,
    non-contiguous data or uint64 values beyond int64.
    """
    a = value if isinstance(value, np.ndarray) else _asarray(name, value)
    if isinstance(value, _UNTYPED) and a.size == 0:
        a = a.astype(np.int64)
    if a.dtype.kind == "b":
        raise TypeError(f"{name} must hold integer class indices, got a bool array (convert with .astype(np.int64))")
    if a.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer class indices, got {_what(value)} of dtype {a.dtype}")
    if a.size != size:
        raise ValueError(f"{name} has {a.size} elements (shape {a.shape}), expected {size}")
    _contiguous(name, a)
    if a.dtype == np.uint64 and a.size and a.max() > _INT64_MAX:
        raise ValueError(f"{name} holds a class index {a.max()} beyond int64")
    if a.dtype != np.int64:
        a = a.astype(np.int64)
    return a


def ptr(array: Optional[np.ndarray]) -> Optional[ctypes.c_void_p]:
    """The data pointer of an array, or NULL for None."""
    return None if array is None else ctypes.c_void_p(array.ctypes.data)


def suffix(dtype: Any) -> str:
    return "f32" if np.dtype(dtype) == np.float32 else "f64"


def function(name: str, dtype: Any) -> Any:
    """The C function `lossfn_<name>_<f32|f64>`, typed for raw pointer arguments."""
    fn = getattr(lib, f"lossfn_{name}_{suffix(dtype)}")
    fn.restype = ctypes.c_uint32
    return fn


def reduced(loss: np.ndarray, reduction_code: int, shape: Tuple[int, ...]) -> np.ndarray:
    """The loss output as users expect it: a 0-d array, or the unreduced values in `shape`."""
    if reduction_code == REDUCTIONS["none"]:
        return loss.reshape(shape)
    return loss.reshape(())


def autograd(function_class: str, unreduced: str) -> Any:
    """Registers a loss for lossfn.torch: `function_class` names its torch.autograd.Function,
    `unreduced` says what one value of reduction="none" covers ("element", "box",
    "distribution_box", "position", "score", "sample", "parts" or "total_parts"; see lossfn.torch). lossfn.torch wraps every
    function of lossfn.__all__ that carries this mark, so a new loss is registered where it is
    written."""

    def mark(fn: Any) -> Any:
        fn.__lossfn_autograd__ = (function_class, unreduced)
        return fn

    return mark
