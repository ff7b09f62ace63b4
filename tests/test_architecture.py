"""The package's layering, checked on its source: the layers docs/architecture.md states, no import
cycle, no private reach-ins.

Reads every module of ``keras_wgan`` with ``ast`` (no import needed), so an import
hidden in a function is found too.
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "keras_wgan"
ARCHITECTURE = ROOT / "docs" / "architecture.md"


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


def documented_layers(text: str) -> list[tuple[str, set[str]]]:
    """``[(layer, modules)]`` bottom up, from the table under "The layers, bottom up" in ``text``.

    A backquoted ``x.py`` or ``sub/x.py`` in a row's modules column names that module
    (``__init__.py``: the package itself), ``sub/`` every module of that package.
    """
    section = text.split("## The layers, bottom up", 1)[1].split("\n## ", 1)[0]
    layers = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or cells[0] in ("layer", "") or set(cells[0]) <= {"-"}:
            continue
        modules = set()
        for token in re.findall(r"`([^`]+)`", cells[1]):
            if token.endswith("/"):
                prefix = "keras_wgan." + token.rstrip("/").replace("/", ".")
                found = {m for m in MODULES if m == prefix or m.startswith(prefix + ".")}
            else:
                name = token.removesuffix(".py").replace("/", ".")
                found = {"keras_wgan" if name == "__init__" else f"keras_wgan.{name}"} & set(MODULES)
            assert found, f"docs/architecture.md names {token!r} in layer {cells[0]!r}: no such module"
            modules |= found
        layers.append((cells[0], modules))
    return layers


def test_every_module_is_in_one_documented_layer():
    layers = documented_layers(ARCHITECTURE.read_text())
    assert len(layers) >= 10
    counts = {m: sum(m in modules for _, modules in layers) for m in MODULES}
    assert {m: c for m, c in counts.items() if c != 1} == {}


def upward_imports(layers: list[tuple[str, set[str]]], graph: dict[str, set[str]]) -> list[str]:
    """The imports of ``graph`` that go from a module to a module of a higher layer."""
    layer_of = {m: i for i, (_, modules) in enumerate(layers) for m in modules}
    return [
        f"{m} ({layers[layer_of[m]][0]}) imports {dep} ({layers[layer_of[dep]][0]})"
        for m, deps in sorted(graph.items())
        for dep in sorted(deps)
        if layer_of[dep] > layer_of[m]
    ]


def test_no_module_imports_a_higher_layer():
    assert upward_imports(documented_layers(ARCHITECTURE.read_text()), _graph()) == []


def test_the_layer_reader_and_checker_find_a_violation():
    table = (
        "## The layers, bottom up\n\n| layer | modules | what |\n|---|---|---|\n"
        "| low | `errors.py` | x |\n| high | `models/`, `__init__.py` | y |\n\n## Next\n"
    )
    layers = documented_layers(table)
    (low, low_modules), (high, high_modules) = layers
    assert (low, low_modules) == ("low", {"keras_wgan.errors"})
    assert high == "high" and {"keras_wgan", "keras_wgan.models.gan", "keras_wgan.models.jax_trainer"} <= high_modules
    graph = {"keras_wgan.errors": {"keras_wgan.models.gan"}, "keras_wgan.models.gan": {"keras_wgan.errors"}}
    assert upward_imports(layers, graph) == ["keras_wgan.errors (low) imports keras_wgan.models.gan (high)"]


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
ALLOWED = {"keras_wgan.data.synthetic_celeba": {"._register_or_validate_checksums"}}

#: Beside the package: the command lines, the benchmarks and the experiments.
SCRIPTS = {
    str(p.relative_to(ROOT)): p
    for p in [*ROOT.glob("*.py"), *(ROOT / "benchmarks").glob("*.py"), *(ROOT / "experiments").glob("*.py")]
}


def test_no_private_attribute_of_another_object_or_module():
    # Keras' private attributes (_flatten_layers, _trainable_variables, ...) included.
    problems = {}
    for name, path in [*MODULES.items(), *SCRIPTS.items()]:
        found = [f for f in _private_reach_ins(path) if f.split(": ")[-1] not in ALLOWED.get(name, set())]
        if found:
            problems[name] = found
    assert problems == {} and "benchmarks/evaluate.py" in SCRIPTS


def test_the_reach_in_finder_finds_one(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("from keras_wgan.data import _finish\nlayers = model._flatten_layers()\nself._ok = 1\n")
    assert _private_reach_ins(path) == ["import _finish", "line 2: ._flatten_layers"]
