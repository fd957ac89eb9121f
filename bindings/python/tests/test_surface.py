"""The Python surface: which array-likes are accepted and with what dtype, integer targets,
errors naming the argument, annotations and docstrings, threads and the GIL."""
import array
import inspect
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import lossfn
from lossfn import _lib


class ArrayObject:
    """An object that is not an ndarray but converts to one (as a CPU torch tensor does)."""

    def __init__(self, data):
        self.data = data

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)


def _x32():
    return np.array([0.5, -1.0, 2.5, 0.0, 3.0], np.float32)


def _t32():
    return np.array([0.0, 0.5, 1.0, 0.25, -2.0], np.float32)


@pytest.mark.parametrize("make", [
    pytest.param(lambda a: array.array("f", a.tolist()), id="array.array-f"),
    pytest.param(lambda a: memoryview(a), id="memoryview"),
    pytest.param(lambda a: ArrayObject(a), id="__array__"),
])
def test_float32_array_likes_stay_float32(make):
    x, t = _x32(), _t32()
    expected = lossfn.smooth_l1_loss(x, t, beta=0.5)
    loss, grad = lossfn.smooth_l1_loss(make(x), make(t), beta=0.5)
    assert loss.dtype == np.float32 and grad.dtype == np.float32
    assert loss.tobytes() == expected[0].tobytes() and grad.tobytes() == expected[1].tobytes()
    # one float32 array-like and one float32 array mix freely
    loss2, _ = lossfn.smooth_l1_loss(make(x), t, beta=0.5)
    assert loss2.tobytes() == expected[0].tobytes()


def test_float64_array_likes_stay_float64():
    x, t = _x32().astype(np.float64), _t32().astype(np.float64)
    for make in (lambda a: array.array("d", a.tolist()), memoryview, ArrayObject):
        loss, grad = lossfn.huber_loss(make(x), make(t))
        assert loss.dtype == np.float64 and grad.dtype == np.float64
        assert loss == lossfn.huber_loss(x, t)[0]


def test_lists_take_the_first_inputs_dtype_and_default_to_float64():
    x, t = _x32(), _t32()
    loss, grad = lossfn.l1_loss(x, t.tolist())
    assert loss.dtype == np.float32 and loss == lossfn.l1_loss(x, t)[0]
    loss, grad = lossfn.l1_loss(x.tolist(), t.tolist())
    assert loss.dtype == np.float64 and grad.dtype == np.float64
    loss, _ = lossfn.l1_loss([1, 2, 3], [0, 0, 0])  # Python ints are values, not a dtype
    assert loss.dtype == np.float64 and loss == 2.0
    boxes = [[0.0, 0.0, 2.0, 2.0]]
    assert lossfn.giou_loss(np.array(boxes, np.float32), boxes)[0].dtype == np.float32


def test_contiguous_inputs_of_the_right_dtype_are_not_copied(monkeypatch):
    seen = []
    real = _lib.ptr
    monkeypatch.setattr(_lib, "ptr", lambda a: (seen.append(a), real(a))[1])
    x, t, w = _x32(), _t32(), np.ones(5, np.float32)
    lossfn.mse_loss(x, t, weight=w)
    assert seen[0] is x and seen[1] is t and seen[2] is w
    seen.clear()
    mv = memoryview(x)
    lossfn.mse_loss(mv, t)
    assert np.shares_memory(seen[0], x)
    seen.clear()
    labels = np.array([0, 2], np.int64)
    logits = np.zeros((2, 3), np.float64)
    lossfn.cross_entropy(logits, labels)
    assert seen[0] is logits and seen[1] is labels
    assert _lib.float_array("input", x) is x and _lib.index_array("target", labels, 2) is labels


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64])
def test_integer_targets_of_any_width(dtype):
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((4, 3, 2, 2))
    labels = rng.integers(0, 3, (4, 2, 2))
    for fn in (lossfn.cross_entropy, lossfn.softmax_focal_loss, lossfn.dice_loss, lossfn.tversky_loss):
        expected = fn(logits, labels.astype(np.int64))
        got = fn(logits, labels.astype(dtype))
        assert got[0].tobytes() == expected[0].tobytes() and got[1].tobytes() == expected[1].tobytes()
    # lists of ints are class indices too
    flat = np.ascontiguousarray(logits[:, :, 0, 0])
    assert lossfn.cross_entropy(flat, [0, 1, 2, 1])[0] == lossfn.cross_entropy(flat, np.array([0, 1, 2, 1]))[0]


@pytest.mark.parametrize("fn", [lossfn.cross_entropy, lossfn.softmax_focal_loss, lossfn.dice_loss, lossfn.tversky_loss])
def test_bool_and_float_index_targets_are_type_errors(fn):
    logits = np.zeros((2, 3), np.float32)
    with pytest.raises(TypeError, match=r"target.*bool"):
        fn(logits, np.array([True, False]))
    if fn is not lossfn.cross_entropy:
        with pytest.raises(TypeError, match=r"target.*float32"):
            fn(logits, np.array([0.0, 1.0], np.float32))
    else:  # cross_entropy takes float targets of input's shape as probabilities; one per position is an index
        for t in (np.array([0.0, 1.0], np.float32), [0.0, 1.0]):
            with pytest.raises(TypeError, match=r"index target must be an integer array"):
                fn(logits, t)
        with pytest.raises(TypeError, match=r"index target must be an integer array"):
            fn(np.zeros((2, 3, 4, 5)), np.zeros((2, 4, 5)))
        probs = np.full((2, 3), 1 / 3, np.float32)
        assert fn(logits, probs)[0] == pytest.approx(np.log(3), rel=1e-6)


def test_uint64_beyond_int64_is_a_value_error():
    with pytest.raises(ValueError, match="target"):
        lossfn.cross_entropy(np.zeros((1, 3)), np.array([2**63], np.uint64))


def test_errors_name_the_argument_and_what_it_got():
    x = _x32()
    with pytest.raises(TypeError, match=r"input must be an array, got NoneType"):
        lossfn.l1_loss(None, x)
    with pytest.raises(TypeError, match=r"target must be an array, got str"):
        lossfn.l1_loss(x, "abc")
    with pytest.raises(TypeError, match=r"target must be a float32 or float64 array, got ndarray of dtype int32"):
        lossfn.mse_loss(x, np.zeros(5, np.int32))
    with pytest.raises(TypeError, match=r"input must be a float32 or float64 array, got array of dtype int64"):
        lossfn.mse_loss(array.array("q", [1, 2]), [0.0, 0.0])
    with pytest.raises(TypeError, match=r"target has dtype float64 but the loss's first input is float32"):
        lossfn.mse_loss(x, x.astype(np.float64))
    with pytest.raises(TypeError, match=r"weight has dtype float64"):
        lossfn.mse_loss(x, x, weight=np.ones(5))
    with pytest.raises(TypeError, match=r"target must hold numbers, got list converting to dtype <U1"):
        lossfn.mse_loss(x.astype(np.float64), ["a", "b", "c", "d", "e"])
    with pytest.raises(ValueError, match=r"target cannot be converted"):
        lossfn.mse_loss(np.zeros(2), [[1.0], [1.0, 2.0]])
    with pytest.raises(ValueError, match=r"weight has 4 elements \(shape \(4,\)\), expected 5"):
        lossfn.mse_loss(x, x, weight=np.ones(4, np.float32))
    with pytest.raises(ValueError, match=r"target shape \(4,\) differs from input shape \(5,\)"):
        lossfn.mse_loss(x, x[:4])
    with pytest.raises(ValueError, match=r"input must be C-contiguous, got strides"):
        lossfn.mse_loss(np.zeros((5, 2), np.float32)[:, 0], x)
    with pytest.raises(ValueError, match=r"pred must have a last dimension of 4"):
        lossfn.ciou_loss(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"target has 3 elements \(shape \(3,\)\), expected 2"):
        lossfn.cross_entropy(np.zeros((2, 4)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"input must have a class axis, got shape \(\)"):
        lossfn.entropy(np.float64(1.0))
    with pytest.raises(TypeError, match=r"target must be an array, got NoneType"):
        lossfn.cross_entropy(np.zeros((2, 3)), None)
    with pytest.raises(ValueError, match=r"reduction must be one of"):
        lossfn.l1_loss(x, x, reduction="median")
    with pytest.raises(TypeError, match=r"format must be one of"):
        lossfn.iou_loss(np.zeros((1, 4)), np.zeros((1, 4)), format=None)
    with pytest.raises(TypeError, match=r"n must be an int"):
        lossfn.set_num_threads(1.5)
    with pytest.raises(ValueError, match=r"n must be >= 0"):
        lossfn.set_num_threads(-1)


def _public_functions():
    return [getattr(lossfn, n) for n in lossfn.__all__ if inspect.isfunction(getattr(lossfn, n))]


@pytest.mark.parametrize("fn", _public_functions(), ids=lambda f: f.__name__)
def test_every_public_function_is_annotated_and_documented(fn):
    sig = inspect.signature(fn)
    assert sig.return_annotation is not inspect.Signature.empty, "return annotation"
    for p in sig.parameters.values():
        assert p.annotation is not inspect.Parameter.empty, f"parameter {p.name} has no annotation"
    doc = inspect.getdoc(fn) or ""
    if sig.parameters:
        assert "Parameters" in doc and "Raises" in doc, f"{fn.__name__}: no Parameters/Raises sections"
        for name in sig.parameters:
            assert name in doc, f"{fn.__name__}: parameter {name} is not documented"
    if fn.__module__ != "lossfn._lib":
        assert "Returns" in doc and "TypeError" in doc and "ValueError" in doc and "LossfnError" in doc


def test_package_is_marked_typed():
    assert (Path(lossfn.__file__).parent / "py.typed").is_file()


def test_error_messages_are_per_thread():
    """Two threads failing in different ways at once each see their own call's message."""
    x = np.zeros(64, np.float64)
    failures = []

    def run(call, expect):
        for _ in range(300):
            try:
                call()
            except lossfn.LossfnError as e:
                if expect not in e.message:
                    failures.append(e.message)
            else:
                failures.append("no error")

    threads = [
        threading.Thread(target=run, args=(lambda: lossfn.huber_loss(x, x, delta=-1.0), "delta")),
        threading.Thread(target=run, args=(lambda: lossfn.l1_loss(x, x, reduction="batchmean"), "BATCHMEAN")),
        threading.Thread(target=run, args=(lambda: lossfn.smooth_l1_loss(x, x, beta=-1.0), "beta")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures[:3]


def test_concurrent_calls_give_the_sequential_results():
    rng = np.random.default_rng(3)
    data = [(rng.standard_normal(50_000), rng.standard_normal(50_000)) for _ in range(4)]
    expected = [lossfn.smooth_l1_loss(x, t) for x, t in data]
    got = [None] * 4

    def run(i):
        for _ in range(5):
            got[i] = lossfn.smooth_l1_loss(*data[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (el, eg), (gl, gg) in zip(expected, got):
        assert el.tobytes() == gl.tobytes() and eg.tobytes() == gg.tobytes()


def gil_pauses(calls=10):
    """(shortest call time, number of this thread's pauses of at least 3/4 of it) while another
    thread makes `calls` library calls. Were the GIL held during a call, this thread could run
    no Python then: every call would be such a pause."""
    rng = np.random.default_rng(4)
    xy = rng.uniform(0, 10, (2_000_000, 2))
    p = np.concatenate([xy, xy + rng.uniform(1, 3, xy.shape)], -1)
    t = p + rng.uniform(-0.5, 0.5, p.shape)
    times = []
    for _ in range(4):  # the first call also faults in the output pages
        start = time.perf_counter()
        lossfn.ciou_loss(p, t)
        times.append(time.perf_counter() - start)
    duration = min(times[1:])
    worker = threading.Thread(target=lambda: [lossfn.ciou_loss(p, t) for _ in range(calls)])
    pauses = 0
    worker.start()
    last = time.perf_counter()
    while worker.is_alive():
        now = time.perf_counter()
        pauses += now - last >= 0.75 * duration
        last = now
    worker.join()
    return duration, pauses


def test_the_gil_is_released_during_a_call():
    """While another thread is inside library calls, this thread keeps running Python: long
    pauses are rare (the OS may preempt it now and then), not one per call."""
    lossfn.set_num_threads(1)
    try:
        duration, pauses = gil_pauses(10)
    finally:
        lossfn.set_num_threads(0)
    assert pauses < 5, f"{pauses} pauses of >= {0.75 * duration:.3f} s during 10 calls of {duration:.3f} s"


def test_lossfn_torch_without_torch_says_what_to_install():
    # sys.modules["torch"] = None makes `import torch` fail as it does where torch is not
    # installed, whether or not it is installed here.
    code = ("import sys; sys.modules['torch'] = None\n"
            "try:\n"
            "    import lossfn.torch\n"
            "except ImportError as e:\n"
            "    print(type(e).__name__, e)\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, stdout=subprocess.PIPE, universal_newlines=True,
                         cwd=Path(__file__).resolve().parents[1]).stdout
    assert out.startswith("ImportError lossfn.torch needs PyTorch"), out
    assert "pip install torch" in out and "[torch]" in out, out


# ---- The package against the header: a function added to lossfn.h and forgotten here fails. ----

HEADER = Path(__file__).resolve().parents[3] / "include" / "lossfn.h"

# C functions whose Python function has another name, on purpose.
PYTHON_NAME = {
    "bce_with_logits": "binary_cross_entropy_with_logits",  # torch's name
    "cross_entropy_soft": "cross_entropy",  # torch's one function: float targets are probabilities
}
# Python functions without a lossfn.torch wrapper, on purpose.
NOT_IN_TORCH = {
    "box_iou_matrix",  # a similarity matrix, no gradient: not a loss
    "probiou_matrix",  # the same for rotated boxes
    "overlap_stats",  # phase 1 of the batch score across ranks: statistics, no gradient
    "overlap_stats_soft",
}


def _header_functions():
    import re

    names = set(re.findall(r"\blossfn_(\w+)_f32\(", HEADER.read_text()))
    assert names == set(re.findall(r"\blossfn_(\w+)_f64\(", HEADER.read_text())), "an f32/f64 pair is incomplete"
    return sorted(names)


@pytest.mark.parametrize("c_name", _header_functions())
def test_every_header_function_has_a_python_function(c_name):
    py_name = PYTHON_NAME.get(c_name, c_name)
    assert py_name in lossfn.__all__, f"lossfn_{c_name}_f32 has no lossfn.{py_name} (or add it to PYTHON_NAME)"
    assert callable(getattr(lossfn, py_name))


def test_every_loss_has_a_lossfn_torch_wrapper():
    """lossfn.torch wraps the functions marked with lossfn._lib.autograd (checked without torch)."""
    marked = {name for name in lossfn.__all__ if hasattr(getattr(lossfn, name), "__lossfn_autograd__")}
    losses = {PYTHON_NAME.get(c, c) for c in _header_functions()} - NOT_IN_TORCH
    assert losses - marked == set(), "losses without @_lib.autograd (or list them in NOT_IN_TORCH)"
    assert marked - losses == set(), "autograd marks on functions the header does not have"
    classes = [getattr(lossfn, name).__lossfn_autograd__[0] for name in sorted(marked)]
    assert len(set(classes)) == len(classes), "two losses share a torch.autograd.Function name"
