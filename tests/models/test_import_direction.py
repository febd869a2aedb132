"""models/ never imports convert/; no import cycle runs through either.

`tests/test_architecture.py` checks the whole package; these hold the
models and conversion packages to it on their own, `__init__` files and
imports inside functions included.
"""

import ast

from tests.test_architecture import PACKAGE
from tests.test_architecture import ROOT
from tests.test_architecture import import_cycles
from tests.test_architecture import import_graph

MODELS = f"{PACKAGE}.models"
CONVERT = f"{PACKAGE}.convert"


def _imported_names(path):
    """Every dotted name an `import` in `path` can bind, at any depth."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_models_never_import_convert():
    found = []
    for path in sorted((ROOT / PACKAGE / "models").rglob("*.py")):
        for name in sorted(_imported_names(path)):
            if name == CONVERT or name.startswith(CONVERT + "."):
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    assert found == []


def test_the_checker_sees_an_import_of_convert(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text("def f():\n    from keras_mobilebert import convert\n")
    assert f"{PACKAGE}.convert" in _imported_names(planted)


def test_no_import_cycle_runs_through_models_or_convert():
    cycles = [
        cycle
        for cycle in import_cycles(import_graph())
        if any(m.startswith((MODELS, CONVERT)) for m in cycle)
    ]
    assert cycles == []
