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
