"""The package's import graph, read from the source with ``ast``: no import cycles, no import
of the package root from inside the package, and every import pointing down the layers of
docs/architecture.md.

Every import statement counts: top-level, inside functions, and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = "voicesafety"
PACKAGE = Path(__file__).resolve().parents[1] / ROOT

#: Bottom to top (docs/architecture.md). A module may import modules of its own layer and of
#: the layers below it; a package name stands for the package and all its modules.
LAYERS: list[set[str]] = [
    {"errors", "_version", "registry", "prompts", "arrays", "_wrappers", "models"},  # foundations
    {"calibration"},
    {"policy"},
    {"spec", "display"},
    {"scoring", "results"},
    {"audio", "text", "vad"},  # input preparation
    {"backends"},  # runtimes only
    {"formats"},  # hub, checkpoints, exported folders (reading)
    {"export"},  # conversion: probes, parity, writers, int8, cache
    {"pipeline", "differentiable", "streaming", "judge"},  # scoring loops; streams; LLM judge
    {"loading"},
    {"classifier"},  # the facade
    # train: fit/distil students; batch: one row per file, locally or on Ray
    # labelling: VAD -> ASR -> text model -> dataset
    {"evaluation", "metrics", "batch", "cascade", "cli", "cli_train", "cli_stream", "train",
     "labelling", "cli_label"},
]


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The deepest module of the package that ``name`` (a dotted name) lies in."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path) -> list[tuple[str, int]]:
    """``(imported module, line)`` for every import of a package module in ``path``."""
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == ROOT or alias.name.startswith(ROOT + "."):
                    found.append((_resolve(alias.name), node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if not (node.module == ROOT or (node.module or "").startswith(ROOT + ".")):
                    continue
                base = node.module or ""
            else:
                package = module if is_package else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{node.module}" if node.module else package
            for alias in node.names:
                target = f"{base}.{alias.name}"
                found.append((target if target in MODULES else _resolve(base), node.lineno))
    return [(t, line) for t, line in found if t is not None and t != module]


GRAPH = {m: _imports(m, p) for m, p in MODULES.items()}


def _layer(module: str) -> int:
    if module == ROOT:
        return len(LAYERS)
    top = module.split(".")[1]
    for index, names in enumerate(LAYERS):
        if top in names:
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS and docs/architecture.md")


def test_the_graph_is_read():
    assert {"voicesafety.classifier", "voicesafety.backends.onnx", "voicesafety.spec"} <= set(
        MODULES)
    assert any(t == "voicesafety.pipeline" for t, _ in GRAPH["voicesafety.classifier"])


def test_no_import_cycles():
    """Tarjan's strongly connected components: any with two or more modules is a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target, _ in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in GRAPH:
        if module not in index:
            visit(module)
    assert not cycles, f"import cycles: {cycles}"


def test_no_import_of_the_package_root_from_inside():
    bad = [f"{m} (line {line})" for m, targets in GRAPH.items() if m != ROOT
           for t, line in targets if t == ROOT]
    assert not bad, f"these import the package root (import from its module instead): {bad}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != ROOT))
def test_imports_point_down_the_layers(module):
    here = _layer(module)
    upward = [f"{t} (line {line})" for t, line in GRAPH[module] if _layer(t) > here]
    assert not upward, f"{module} (layer {here}) imports from higher layers: {upward}"
