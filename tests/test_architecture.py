"""The dependency direction of ../shared/STYLE.md, enforced by parsing every module's imports."""

import ast
import pathlib
import sys

import pytest

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "neurona"
STDLIB = set(sys.stdlib_module_names)


def _imports(path: pathlib.Path) -> set:
    """Absolute names imported by a module (relative imports resolved against its package)."""
    package = list(path.relative_to(SRC.parent).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names.update(f"{module}.{alias.name}" if not node.module else module for alias in node.names)
    return names


def _modules(folder: str = "") -> list:
    return sorted((SRC / folder).rglob("*.py"))


def _third_party(names: set) -> set:
    return {n for n in names if n.split(".")[0] not in STDLIB | {"neurona", "numpy", "__future__"}}


@pytest.mark.parametrize("path", _modules("autodiff"), ids=lambda p: p.name)
def test_the_engine_imports_numpy_and_itself_only(path):
    names = _imports(path)
    assert not _third_party(names)
    assert all(n.startswith("neurona.autodiff") for n in names if n.startswith("neurona"))


@pytest.mark.parametrize("path", _modules("datasets"), ids=lambda p: p.name)
def test_datasets_import_numpy_stdlib_and_the_file_helpers_only(path):
    names = _imports(path)
    lazy_progress = {"tqdm", "tqdm.auto"}  # an optional progress bar, imported inside a function
    assert not _third_party(names) - lazy_progress
    assert {n for n in names if n.startswith("neurona")} <= {"neurona.datasets", "neurona._files"} | {
        n for n in names if n.startswith("neurona.datasets.")}


CORE = [p for p in _modules() if p.parent == SRC and p.name not in ("cli.py", "__init__.py")]


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_the_core_does_not_import_the_views_experiments_or_cli(path):
    names = {n for n in _imports(path) if n.startswith("neurona.")}
    # History.plot is the one documented door to a view, imported inside the method that draws.
    allowed = {"neurona.viz.plots"} if path.name == "callbacks.py" else set()
    assert not {n for n in names if n.split(".")[1] in ("viz", "experiments", "cli")} - allowed
    assert not _third_party(_imports(path)) - {"tqdm.auto"}  # tqdm: the lazy progress bar


# ----- layering: the import graph has no cycle ----------------------------------------------------------

def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph(packages_whole: bool = False) -> dict:
    """Module → the neurona modules it imports (anywhere in it, lazy imports included).

    With ``packages_whole``, each sub-package (autodiff, layers, datasets, …) is one node.
    """
    modules = {_module_name(p): p for p in _modules()}
    unit = (lambda m: ".".join(m.split(".")[:2])) if packages_whole else (lambda m: m)
    graph = {}
    for name, path in modules.items():
        targets = graph.setdefault(unit(name), set())
        for imported in _imports(path):
            while imported and imported not in modules:  # "neurona.autodiff.Tensor" → "neurona.autodiff"
                imported = imported.rpartition(".")[0]
            if imported and unit(imported) != unit(name):
                targets.add(unit(imported))
    return graph


def _find_cycle(graph: dict) -> list:
    """One cycle of the graph as a list of modules, or [] (iterative depth-first search)."""
    state = {}  # 1: on the current path, 2: done
    for root in sorted(graph):
        if root in state:
            continue
        path, stack = [], [(root, iter(sorted(graph[root])))]
        state[root] = 1
        path.append(root)
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                state[node] = 2
            elif state.get(child) == 1:
                return path[path.index(child):] + [child]
            elif child not in state:
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(graph[child]))))
    return []


def test_the_import_graph_of_modules_and_sub_packages_has_no_cycle():
    assert _find_cycle(_import_graph(packages_whole=True)) == []


def test_the_import_graph_of_modules_has_no_cycle():  # module by module, inside the sub-packages too
    assert _find_cycle(_import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():  # the control
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) == []


def test_models_own_structure_training_owns_the_loop_saving_owns_the_format():
    graph = _import_graph(packages_whole=True)
    assert "neurona.training" in graph["neurona.models"]  # fit/evaluate delegate to the loop
    assert "neurona.models" not in graph["neurona.training"]  # the loop drives any model; it never imports one
    for lower in ("neurona.saving", "neurona.checkpoints", "neurona.callbacks", "neurona.layers"):
        assert not {"neurona.models", "neurona.training"} & graph[lower], lower
