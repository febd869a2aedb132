"""The package's shape: imports run one way, modules stay small.

Reads the source with `ast` (nothing is imported), so it is fast and sees
every import, also those inside functions. The layers, lowest first, are
in `LAYERS`; docs/architecture.md explains them.
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = "keras_mobilebert"
# The console script's TensorFlow-free package beside PACKAGE (importing
# anything in PACKAGE imports TensorFlow): the `cli` layer.
CLI_PACKAGE = "keras_mobilebert_cli"
MAX_LINES = 600

# Lowest first: a module may import its own layer and the ones before it.
LAYERS = (
    ("version", "utils"),
    ("layers",),
    ("data", "metrics"),
    ("models",),
    ("quantization",),
    ("export",),
    ("convert",),
    ("distillation",),
    ("finetune",),
    ("cli",),
)


def _module_name(path, root):
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules(root=ROOT):
    """{module name: path} of the packages and of tools/."""
    paths = sorted((root / PACKAGE).rglob("*.py"))
    paths += sorted((root / CLI_PACKAGE).rglob("*.py"))
    paths += sorted((root / "tools").glob("*.py"))
    return {_module_name(p, root): p for p in paths}


def _is_package(name, modules):
    return modules[name].name == "__init__.py"


def _resolve(target, modules):
    """The longest known module prefix of a dotted import target."""
    while target and target not in modules:
        target = target.rpartition(".")[0]
    return target or None


def import_graph(root=ROOT):
    """{module: set of modules it imports}, package `__init__`s left out.

    A package `__init__` only re-exports; counting it would make every
    `from keras_mobilebert.x import y` depend on all of `x`.

    Example:
    ```python
    graph = import_graph()
    graph["keras_mobilebert.layers.attention"]
    ```
    """
    modules = _modules(root)
    graph = {}
    for name, path in modules.items():
        if _is_package(name, modules):
            continue
        package = name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[
                        : len(package.split(".")) - node.level + 1
                    ]
                    base = ".".join(parts + ([base] if base else []))
                candidates = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for candidate in candidates:
                target = _resolve(candidate, modules)
                if (
                    target
                    and target != name
                    and not _is_package(target, modules)
                ):
                    targets.add(target)
        graph[name] = targets
    return graph


def import_cycles(graph):
    """Strongly connected groups of more than one module (Tarjan)."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def layer_rank(name):
    """Index in `LAYERS` of a package module; None for tools/ and the root."""
    parts = name.split(".")
    if parts[0] == CLI_PACKAGE:
        return next(i for i, layer in enumerate(LAYERS) if "cli" in layer)
    if parts[0] != PACKAGE or len(parts) < 2:
        return None
    for rank, layer in enumerate(LAYERS):
        if parts[1] in layer:
            return rank
    raise AssertionError(
        f"{name}: subpackage {parts[1]!r} has no place in LAYERS; add it "
        "there and to docs/architecture.md."
    )


def upward_imports(graph):
    """`(importer, imported)` pairs where a lower layer imports a higher."""
    found = []
    for name, targets in sorted(graph.items()):
        rank = layer_rank(name)
        if rank is None:
            continue
        for target in sorted(targets):
            target_rank = layer_rank(target)
            if target_rank is not None and target_rank > rank:
                found.append((name, target))
    return found


def test_the_checker_finds_a_planted_cycle(tmp_path):
    package = tmp_path / PACKAGE
    (package / "models").mkdir(parents=True)
    (tmp_path / "tools").mkdir()
    (package / "__init__.py").write_text("")
    (package / "models" / "__init__.py").write_text("")
    (package / "models" / "a.py").write_text(
        "def f():\n    from keras_mobilebert.models import b\n"
    )
    (package / "models" / "b.py").write_text(
        "from keras_mobilebert.models.a import f\n"
    )
    (package / "models" / "c.py").write_text("from . import a\n")
    graph = import_graph(tmp_path)
    assert graph["keras_mobilebert.models.c"] == {"keras_mobilebert.models.a"}
    assert import_cycles(graph) == [
        ["keras_mobilebert.models.a", "keras_mobilebert.models.b"]
    ]


def test_the_checker_finds_an_upward_import():
    graph = {
        "keras_mobilebert.models.x": {"keras_mobilebert.cli.main"},
        "keras_mobilebert.cli.main": {"keras_mobilebert.models.x"},
    }
    assert upward_imports(graph) == [
        ("keras_mobilebert.models.x", "keras_mobilebert.cli.main")
    ]


def test_no_import_cycles():
    cycles = import_cycles(import_graph())
    assert cycles == [], f"import cycles: {cycles}"


def test_imports_run_one_way():
    upward = upward_imports(import_graph())
    assert upward == [], (
        "lower layers import higher ones (see LAYERS): "
        + ", ".join(f"{a} -> {b}" for a, b in upward)
    )


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / PACKAGE).rglob("*.py"))
    + sorted((ROOT / CLI_PACKAGE).rglob("*.py"))
    + sorted((ROOT / "tools").glob("*.py")),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_modules_stay_small(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, (
        f"{path.relative_to(ROOT)} has {lines} lines (at most {MAX_LINES}): "
        "split it along its jobs."
    )
