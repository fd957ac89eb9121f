"""lossfn: deep-learning loss functions with fused analytic gradients.

Every loss returns ``(loss, grad)`` as numpy arrays, computed in one pass by liblossfn: loss is
a 0-d array for "mean"/"sum" (the unreduced values for reduction="none"), grad is d loss / d
the first input, in its shape and dtype (None with ``grad=False``).

Arrays and dtypes
-----------------
* Float inputs are float32 or float64, all of one dtype: the first float argument (``input``,
  ``pred``, ...) decides the call's dtype and the outputs'. Anything with a dtype of its own
  keeps it: numpy arrays, objects with ``__array__`` (e.g. a CPU torch tensor), buffers such as
  ``memoryview`` and ``array.array('f')`` (float32) or ``array.array('d')`` (float64). Python
  lists, tuples and scalars have none: they take the first float argument's dtype, and float64
  when they are that argument themselves.
* C-contiguous arrays of the right dtype are passed to the library as they are, without a copy;
  non-contiguous ones raise ValueError (use ``np.ascontiguousarray``), there is no hidden copy.
* Class-index targets may be any integer dtype (int8/16/32/64, uint8/16/32/64): int64 is passed
  as is, the others are converted to int64. bool or float arrays for an index target raise
  TypeError naming the argument.
* A wrong dtype or a non-array raises TypeError, a wrong shape, size or contiguity ValueError,
  both naming the argument and what it got; errors found by the library raise
  :class:`LossfnError` (``status``, ``name``, ``message``).

Threads
-------
The GIL is released while the library computes (ctypes releases it around every call into a
``CDLL``), so Python threads calling losses run in parallel. Calls are thread-safe, and error
messages are per thread (the library's last error is thread-local), so a LossfnError always
carries its own call's message. Inside one call the library uses its own thread pool:
:func:`set_num_threads` sets its size for the whole process (0 = default: $LOSSFN_NUM_THREADS or
every core; 1 = the calling thread only); results are bitwise identical for any count. The pool
is safe across ``fork`` (multiprocessing / DataLoader workers).

PyTorch
-------
``import lossfn.torch`` (not imported by ``import lossfn``) gives every loss as a
``torch.autograd.Function`` and as a function of the same name and keywords taking CPU tensors.

The library is loaded from ``$LOSSFN_LIBRARY`` when set, else from beside this package (where
``pip install`` bundles it), else from a source checkout's ``target/release``.
"""
from __future__ import annotations

from . import boxes, classification, keypoints, overlap, regression
from ._lib import LossfnError, Shape, get_num_threads, set_num_threads, version
from .boxes import *  # noqa: F401,F403
from .classification import *  # noqa: F401,F403
from .keypoints import *  # noqa: F401,F403
from .overlap import *  # noqa: F401,F403
from .regression import *  # noqa: F401,F403

__version__ = "0.2.0"

__all__ = (
    ["LossfnError", "Shape", "get_num_threads", "set_num_threads", "version"]
    + regression.__all__
    + boxes.__all__
    + classification.__all__
    + keypoints.__all__
    + overlap.__all__
)
