"""What the benchmarks against ultralytics (benches/vs_ultralytics_*.py) share: taking functions
and classes out of a wheel's files (ultralytics does not import without OpenCV; its losses are
plain torch), and the best time of repeated calls."""
import ast
import math
import time
import zipfile


def from_wheel(wheel, members, ns):
    """Executes the top-level functions and classes named in `members` ({file in the wheel:
    names}) in the namespace `ns` (decorators dropped) and returns `ns`."""
    archive = zipfile.ZipFile(wheel)
    for member, names in members.items():
        for node in ast.parse(archive.read(member).decode()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in names:
                node.decorator_list = []
                exec(compile(ast.Module(body=[node], type_ignores=[]), f"{wheel}:{member}", "exec"), ns)
    return ns


def best_ms(reps, fn):
    """The best of reps + 1 calls of fn, in milliseconds."""
    best = math.inf
    for _ in range(reps + 1):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return 1e3 * best
