"""Shared helpers: the fixture files and the tolerance rule of tests/fixtures/README.md."""
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

# The tests exercise this source tree's package (ctest also sets PYTHONPATH to it).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FIXTURES = Path(os.environ.get("LOSSFN_FIXTURES", Path(__file__).resolve().parents[3] / "tests/fixtures")).resolve()

TOLERANCES = {"f32": (2e-4, 2e-5), "f64": (1e-8, 1e-10)}
DTYPES = {"f32": np.float32, "f64": np.float64}


def cases(family):
    """(id, case, dtype-name) for every case of `family` and every dtype it applies to."""
    data = json.loads((FIXTURES / f"{family}.json").read_text())
    out = []
    for i, case in enumerate(data["cases"]):
        for dt in case.get("dtypes", ["f32", "f64"]):
            out.append(pytest.param(case, dt, id=f"{i}-{case.get('fn', family)}-{dt}"))
    return out


def assert_close(what, got, expected, dtype):
    rtol, atol = TOLERANCES[dtype]
    got = np.asarray(got, dtype=np.float64).ravel()
    expected = np.asarray(expected, dtype=np.float64).ravel()
    assert got.shape == expected.shape, f"{what}: shape {got.shape} vs {expected.shape}"
    scale = max(np.max(np.abs(expected), initial=0.0), 1e-3)
    bad = np.abs(got - expected) > rtol * np.abs(expected) + atol * scale
    assert not bad.any(), f"{what}: first mismatch at {np.argmax(bad)}: got {got[bad][:3]}, expected {expected[bad][:3]}"


def assert_finite(what, values):
    values = np.asarray(values)
    assert np.isfinite(values).all(), f"{what}: non-finite values"


def check_fixture(case, dt, call, grad_shape=None):
    """Checks one fixture case: `call(grad)` returns (loss, grad) from the binding. Loss and
    gradient match the expected values (or are finite where the reference has none), every value
    is finite where the case says so, and grad=False gives no gradient and the same loss bits."""
    dtype = DTYPES[dt]
    loss, grad = call(True)
    assert loss.dtype == dtype and grad.dtype == dtype
    if grad_shape is not None:
        assert grad.shape == grad_shape
    assert_close("loss", loss, case["loss"], dt)
    if case["grad"] is None:
        assert_finite("grad", grad)
    else:
        assert_close("grad", grad, case["grad"], dt)
    if case.get("finite"):
        assert_finite("loss", loss)
        assert_finite("grad", grad)
    loss2, none = call(False)
    assert none is None
    assert loss.tobytes() == loss2.tobytes()
