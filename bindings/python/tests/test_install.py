"""The package as users get it: `pip wheel` builds liblossfn with cargo and bundles it, the wheel
is platform-tagged, and once installed in a fresh venv `import lossfn` works from any directory
with no environment variable. Also the loader's and the build's error messages.

Needs cargo (the test is skipped, saying so, when cargo is not on PATH) and, as it builds without
build isolation (no network), setuptools with bdist_wheel in this interpreter: setuptools >= 70.1,
or an older one with the `wheel` package. A missing one fails the test, naming what to install.
The build reuses the existing release build: CARGO_TARGET_DIR is $CARGO_TARGET_DIR or the repo's
target/, where `cargo build --release` and the CMake build put it.
"""
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # bindings/python
REPO = PACKAGE_DIR.parents[1]


def _clean_env(**extra):
    """The environment without anything that points Python or the loader at the source tree."""
    env = {k: v for k, v in os.environ.items() if k not in ("LOSSFN_LIBRARY", "PYTHONPATH", "PYTHONHOME")}
    env.update(extra)
    return env


def _run(cmd, **kw):
    proc = subprocess.run([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, **kw)
    return proc.returncode, proc.stdout


def _require_bdist_wheel():
    code = textwrap.dedent("""
        import setuptools
        from setuptools.dist import Distribution
        print("setuptools", setuptools.__version__)
        major, minor = (int(v) for v in setuptools.__version__.split(".")[:2])
        assert (major, minor) >= (61, 0), "pyproject.toml [project] metadata needs setuptools >= 61"
        Distribution().get_command_class("bdist_wheel")
    """)
    rc, out = _run([sys.executable, "-W", "ignore", "-c", code])
    if rc != 0:
        pytest.fail(
            f"{sys.executable} cannot build a wheel without build isolation: it needs setuptools >= 61 with "
            f"bdist_wheel: setuptools >= 70.1, or the `wheel` package (python3 -m pip install wheel). Output:\n{out}"
        )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    if shutil.which("cargo") is None and not os.environ.get("CARGO"):
        pytest.skip("cargo is not on PATH: building the package needs Rust (https://rustup.rs)")
    _require_bdist_wheel()
    out_dir = tmp_path_factory.mktemp("wheelhouse")
    target = os.environ.get("CARGO_TARGET_DIR") or str(REPO / "target")
    rc, out = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "-w", out_dir, PACKAGE_DIR], env=_clean_env(CARGO_TARGET_DIR=target), cwd=REPO)
    assert rc == 0, f"pip wheel failed:\n{out}"
    wheels = list(out_dir.glob("lossfn-*.whl"))
    assert len(wheels) == 1, f"expected one wheel in {out_dir}, got {wheels}\n{out}"
    return wheels[0]


def test_wheel_is_platform_tagged(wheel):
    m = re.fullmatch(r"lossfn-[^-]+-(?P<py>[^-]+)-(?P<abi>[^-]+)-(?P<plat>[^-]+)\.whl", wheel.name)
    assert m, wheel.name
    assert m["plat"] != "any", f"{wheel.name} is tagged as pure: it carries a native library"
    assert (m["py"], m["abi"]) == ("py3", "none"), f"{wheel.name}: a ctypes package needs no CPython ABI tag"


def test_wheel_installs_and_works_in_a_fresh_venv(wheel, tmp_path):
    venv = tmp_path / "venv"
    rc, out = _run([sys.executable, "-m", "venv", "--system-site-packages", venv])
    assert rc == 0, f"venv creation failed:\n{out}"
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    rc, out = _run([python, "-m", "pip", "install", "--no-deps", "--no-index", wheel], env=_clean_env())
    assert rc == 0, f"pip install of {wheel.name} failed:\n{out}"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = textwrap.dedent("""
        import os, sys
        from pathlib import Path
        import numpy as np
        assert "LOSSFN_LIBRARY" not in os.environ
        import lossfn
        pkg = Path(lossfn.__file__).resolve().parent
        assert Path(sys.prefix).resolve() in pkg.parents, (lossfn.__file__, sys.prefix)
        assert Path(lossfn._lib.lib._name).resolve().parent == pkg, lossfn._lib.lib._name
        assert (pkg / "py.typed").is_file()

        x = np.array([0.2, -1.5, 3.0, 0.9], np.float32)
        t = np.array([0.0, 0.5, 1.0, 1.0], np.float32)
        d = (x - t).astype(np.float64)
        beta = 0.5
        expected = np.where(np.abs(d) < beta, 0.5 * d * d / beta, np.abs(d) - 0.5 * beta).mean()
        loss, grad = lossfn.smooth_l1_loss(x, t, beta=beta)
        assert loss.dtype == np.float32 and np.isclose(loss, expected, rtol=1e-6), (loss, expected)

        p = np.array([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 4.0, 3.0]])
        g = np.array([[1.0, 1.0, 3.0, 4.0], [0.5, 1.5, 3.5, 3.0]])
        def ciou(a, b):
            iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0])); ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
            inter = iw * ih
            wa, ha, wb, hb = a[2] - a[0], a[3] - a[1], b[2] - b[0], b[3] - b[1]
            iou = inter / (wa * ha + wb * hb - inter)
            rho2 = ((a[0] + a[2] - b[0] - b[2]) ** 2 + (a[1] + a[3] - b[1] - b[3]) ** 2) / 4
            c2 = (max(a[2], b[2]) - min(a[0], b[0])) ** 2 + (max(a[3], b[3]) - min(a[1], b[1])) ** 2
            v = 4 / np.pi ** 2 * (np.arctan(wb / hb) - np.arctan(wa / ha)) ** 2
            return 1 - iou + rho2 / c2 + v * v / (1 - iou + v)
        expected = np.mean([ciou(a, b) for a, b in zip(p, g)])
        loss, grad = lossfn.ciou_loss(p, g)
        assert np.isclose(loss, expected, rtol=1e-6), (loss, expected)
        assert grad.shape == (2, 4)
        print("ok", lossfn.version(), lossfn.__file__)
    """)
    rc, out = _run([python, "-c", script], env=_clean_env(), cwd=elsewhere)
    assert rc == 0 and out.startswith("ok "), out


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs a pseudo-terminal (POSIX)")
def test_pip_tells_the_terminal_that_it_compiles_the_library(tmp_path):
    """Without -v pip hides the build's output; setup.py writes one line to the terminal instead."""
    import pty

    if shutil.which("cargo") is None and not os.environ.get("CARGO"):
        pytest.skip("cargo is not on PATH: building the package needs Rust (https://rustup.rs)")
    target = os.environ.get("CARGO_TARGET_DIR") or str(REPO / "target")
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w",
           str(tmp_path), str(PACKAGE_DIR)]
    env = _clean_env(CARGO_TARGET_DIR=target)
    pid, fd = pty.fork()  # the child's controlling terminal is the pseudo-terminal read here
    if pid == 0:
        os.chdir(REPO)
        os.execve(cmd[0], cmd, env)
    out = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    text = out.decode(errors="replace")
    assert os.WEXITSTATUS(status) == 0, text
    assert "lossfn: compiling liblossfn from its Rust source with cargo" in text, text


def test_build_leaves_the_source_tree_clean_for_git():
    """pip builds in-tree: what it leaves (build/, *.egg-info) is ignored by git."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.fail(f"{REPO} is not a git checkout (or git is missing): cannot check .gitignore")
    for path in ("bindings/python/build/lib/lossfn/liblossfn.so", "bindings/python/lossfn.egg-info/PKG-INFO"):
        rc, out = _run(["git", "-C", REPO, "check-ignore", "-q", path])
        assert rc == 0, f"{path} is not ignored by git"


def _import_error(env, package_dir=None):
    """The message of the OSError `import lossfn` raises (from package_dir, or the source tree)."""
    code = "import lossfn"
    rc, out = _run([sys.executable, "-c", code], env=env, cwd=package_dir or PACKAGE_DIR)
    assert rc != 0, f"import lossfn succeeded:\n{out}"
    assert "OSError" in out, out
    return out


def test_loader_names_a_missing_lossfn_library(tmp_path):
    missing = tmp_path / "nope" / "liblossfn.so"
    out = _import_error(_clean_env(LOSSFN_LIBRARY=str(missing)))
    assert f"LOSSFN_LIBRARY is set to {str(missing)!r}, but no file exists there" in out


def test_loader_names_an_unloadable_lossfn_library(tmp_path):
    bad = tmp_path / "liblossfn.so"
    bad.write_text("not a shared library")
    out = _import_error(_clean_env(LOSSFN_LIBRARY=str(bad)))
    assert f"LOSSFN_LIBRARY is set to {str(bad)!r}, but it cannot be loaded:" in out
    assert "invalid ELF header" in out or "cannot" in out


def test_loader_explains_a_package_installed_without_its_library(tmp_path):
    shutil.copytree(PACKAGE_DIR / "lossfn", tmp_path / "lossfn",
                    ignore=shutil.ignore_patterns("*.so", "*.dylib", "*.dll", "__pycache__"))
    out = _import_error(_clean_env(), tmp_path)
    assert "was installed without its shared library" in out
    assert "pip install ./bindings/python" in out and "LOSSFN_LIBRARY" in out


def test_build_without_cargo_says_rust_is_needed(tmp_path):
    env = _clean_env(PATH=os.path.dirname(sys.executable), HOME=str(tmp_path), CARGO_HOME=str(tmp_path / "cargo"))
    env.pop("CARGO", None)
    rc, out = _run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", tmp_path / "lib"], env=env,
                   cwd=PACKAGE_DIR)
    assert rc != 0 and "needs Rust (cargo)" in out and "https://rustup.rs" in out, out
    rc, out = _run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", tmp_path / "lib"],
                   env=_clean_env(CARGO=str(tmp_path / "no-cargo")), cwd=PACKAGE_DIR)
    assert rc != 0 and "$CARGO is" in out and "not an executable" in out, out
