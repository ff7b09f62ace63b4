"""The package's layering, checked on its source: no import cycle, no private reach-ins.

Reads every module of ``keras_wgan`` with ``ast`` (no import needed), so a cycle
hidden in a function-level import is found too.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "keras_wgan"


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(tree: ast.AST) -> set[str]:
    """The package modules a module imports, anywhere in it."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names if alias.name in MODULES)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "keras_wgan":
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                out.add(sub if sub in MODULES else node.module)
    return out


def _graph() -> dict[str, set[str]]:
    return {name: _imports(ast.parse(path.read_text())) - {name} for name, path in MODULES.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_graph_is_read():
    graph = _graph()
    assert "keras_wgan.models.gan" in graph["keras_wgan.models.wgan_gp"]
    assert "keras_wgan.variants" in graph["keras_wgan.config"]


def test_no_import_cycle():
    assert _cycle(_graph()) is None, " -> ".join(_cycle(_graph()))


def test_the_cycle_finder_finds_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_models_do_not_import_the_registry():
    # The registry imports the models; their paper defaults live where both reach them.
    graph = _graph()
    for name in graph:
        if name.startswith("keras_wgan.models"):
            assert "keras_wgan.variants" not in graph[name], name


def _private_reach_ins(path: Path) -> list[str]:
    """``x._name`` for any ``x`` but ``self``/``cls``, and ``from keras_wgan... import _name``."""
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("keras_wgan"):
            found += [f"import {alias.name}" for alias in node.names if alias.name.startswith("_")]
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                found.append(f"line {node.lineno}: .{node.attr}")
    return found


#: The one deliberate exception: synthetic CelebA files cannot match tensorflow-datasets'
#: official checksums, and tfds has no public switch for that one comparison (test data only).
ALLOWED = {"keras_wgan.synthetic_celeba": {"._register_or_validate_checksums"}}


def test_no_private_attribute_of_another_object_or_module():
    # Keras' private attributes (_flatten_layers, _trainable_variables, ...) included.
    problems = {}
    for name, path in MODULES.items():
        found = [f for f in _private_reach_ins(path) if f.split(": ")[-1] not in ALLOWED.get(name, set())]
        if found:
            problems[name] = found
    assert problems == {}


def test_the_reach_in_finder_finds_one(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("from keras_wgan.data import _finish\nlayers = model._flatten_layers()\nself._ok = 1\n")
    assert _private_reach_ins(path) == ["import _finish", "line 2: ._flatten_layers"]
