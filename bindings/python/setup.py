"""Builds liblossfn with cargo and bundles it inside the ``lossfn`` package.

Metadata lives in pyproject.toml; this file only adds two things setuptools cannot say there:

* ``build_py`` also runs ``cargo build --release --lib`` on the lossfn crate (the Cargo.toml
  whose package name is ``lossfn``, found by walking up from this directory) and copies the
  shared library into the build's ``lossfn/`` directory, so an installed package finds it
  beside ``__init__.py`` with no environment variable. ``$CARGO`` names the cargo to run and
  ``$CARGO_TARGET_DIR`` (or any cargo config) where it builds: the library's path is taken from
  cargo's own JSON messages, so an existing release build is reused, not redone.
* the wheel is platform-specific (it carries a native library) but not tied to a CPython ABI
  (the binding is ctypes), so it is tagged ``py3-none-<platform>``.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py as _build_py
from setuptools.dist import Distribution
from setuptools.errors import ExecError, SetupError

try:  # setuptools >= 70.1 has bdist_wheel built in; older ones take it from the `wheel` package
    from setuptools.command.bdist_wheel import bdist_wheel as _bdist_wheel
except ImportError:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from wheel.bdist_wheel import bdist_wheel as _bdist_wheel
    except ImportError:
        _bdist_wheel = None

HERE = Path(__file__).resolve().parent
LIBNAMES = {"linux": "liblossfn.so", "darwin": "liblossfn.dylib", "win32": "lossfn.dll"}
LIBNAME = LIBNAMES.get(sys.platform, "liblossfn.so")


def _package_name(manifest):
    """The `name` of a Cargo.toml's [package] table, or None (a small reader: no toml dependency)."""
    section = None
    for line in manifest.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        header = re.fullmatch(r"\[\s*([^\]]+?)\s*\]", line)
        if header:
            section = header.group(1)
        elif section == "package":
            m = re.fullmatch(r"name\s*=\s*[\"']([^\"']+)[\"']", line)
            if m:
                return m.group(1)
    return None


def find_crate(start=HERE):
    """The directory of the lossfn crate: the first Cargo.toml above `start` whose package is lossfn."""
    for d in [start, *start.parents]:
        manifest = d / "Cargo.toml"
        if manifest.is_file() and _package_name(manifest) == "lossfn":
            return d
    raise SetupError(
        f"cannot find the lossfn crate (a Cargo.toml with [package] name = \"lossfn\") in {start} or any "
        "directory above it; build the Python package from a lossfn source checkout "
        "(pip install ./bindings/python)"
    )


def find_cargo():
    """$CARGO, else cargo on PATH, else rustup's default place; a clear error when there is none."""
    env = os.environ.get("CARGO")
    if env:
        if shutil.which(env):
            return shutil.which(env)
        raise ExecError(f"$CARGO is {env!r}, which is not an executable; unset it or point it at cargo")
    found = shutil.which("cargo")
    if found:
        return found
    home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo")) / "bin" / "cargo"
    if home.is_file() and os.access(home, os.X_OK):
        return str(home)
    raise ExecError(
        "cargo not found: building the lossfn Python package compiles liblossfn from its Rust source, "
        "which needs Rust (cargo). Install it from https://rustup.rs (or set $CARGO to cargo's path) "
        "and run pip again."
    )


COMPILING = ("lossfn: compiling liblossfn from its Rust source with cargo (the first build takes about 2 minutes "
             "on 2 cores; later builds reuse it). `pip install -v` shows cargo's progress.")


def tell_terminal(msg, tty="/dev/tty"):
    """Writes msg to the user's terminal, if there is one.

    pip hides a build backend's stdout and stderr unless run with -v, so without this a first
    `pip install` would sit silent for the whole cargo build. The controlling terminal is not
    captured; where there is none (CI, a pipe) nothing is written."""
    try:
        with open(tty, "w") as out:
            out.write(msg + "\n")
    except OSError:
        pass


def build_library(log=print):
    """Runs `cargo build --release --lib` on the crate; returns the path of the shared library."""
    crate = find_crate()
    cmd = [find_cargo(), "build", "--release", "--lib", "--manifest-path", str(crate / "Cargo.toml"),
           "--message-format=json-render-diagnostics"]
    tell_terminal(COMPILING)
    log(COMPILING)
    log("running " + " ".join(cmd))
    proc = subprocess.run(cmd, cwd=crate, stdout=subprocess.PIPE, universal_newlines=True)
    if proc.returncode != 0:
        raise ExecError(f"cargo build of liblossfn failed (exit status {proc.returncode}); see its output above")
    found = None
    for line in proc.stdout.splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if msg.get("reason") == "compiler-artifact" and msg.get("target", {}).get("name") == "lossfn":
            for f in msg.get("filenames", []):
                if Path(f).name == LIBNAME:
                    found = Path(f)
    if found is None or not found.is_file():
        raise ExecError(f"cargo build succeeded but reported no {LIBNAME} (is crate-type cdylib?)")
    return found


class build_py(_build_py):
    """build_py that also builds liblossfn with cargo and puts it in the package."""

    def run(self):
        super().run()
        if self.dry_run:
            return
        library = build_library(self.announce_info)
        if getattr(self, "editable_mode", False):
            # An editable install imports the source tree, which finds target/release itself.
            return
        dest = Path(self.build_lib) / "lossfn" / LIBNAME
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(library, dest)
        self.announce_info(f"copied {library} -> {dest}")
        self._library = str(dest)

    def announce_info(self, msg):
        self.announce(msg, level=2)

    def get_outputs(self, include_bytecode=1):
        outputs = super().get_outputs(include_bytecode)
        library = getattr(self, "_library", None)
        return outputs + [library] if library and library not in outputs else outputs


class BinaryDistribution(Distribution):
    """The package carries a native library: never a pure (platform-independent) distribution."""

    def has_ext_modules(self):
        return True


cmdclass = {"build_py": build_py}

if _bdist_wheel is not None:

    class bdist_wheel(_bdist_wheel):
        """py3-none-<platform>: platform-specific, but ctypes needs no particular CPython ABI."""

        def finalize_options(self):
            super().finalize_options()
            self.root_is_pure = False

        def get_tag(self):
            _, _, plat = super().get_tag()
            return "py3", "none", plat

    cmdclass["bdist_wheel"] = bdist_wheel

setup(cmdclass=cmdclass, distclass=BinaryDistribution)
