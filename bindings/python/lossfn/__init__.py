"""lossfn: deep-learning loss functions with fused analytic gradients.

Every loss returns ``(loss, grad)`` as numpy arrays, computed in one pass by liblossfn.
Inputs must be C-contiguous float32 or float64 arrays of one dtype (index targets int64);
errors raise :class:`LossfnError` carrying the C status and message.
"""
from . import boxes, classification, overlap, regression
from ._lib import LossfnError, Shape, get_num_threads, set_num_threads, version
from .boxes import *  # noqa: F401,F403
from .classification import *  # noqa: F401,F403
from .overlap import *  # noqa: F401,F403
from .regression import *  # noqa: F401,F403

__version__ = "0.1.0"

__all__ = (
    ["LossfnError", "Shape", "get_num_threads", "set_num_threads", "version"]
    + regression.__all__
    + boxes.__all__
    + classification.__all__
    + overlap.__all__
)
