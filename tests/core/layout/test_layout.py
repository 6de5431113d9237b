"""The house rules of issue #26, checked on the source itself (no QGIS needed): one way imports run and no
circle among them, the core never imports QGIS, thin algorithms, no ``sys.path`` games."""

import ast
import subprocess

import pytest
from helpers import REPO

#: Processing algorithms may hold no class longer than this (lines from ``class`` to its last line).
MAX_CLASS_LINES = 150


def _tracked_python():
    out = subprocess.run(["git", "ls-files", "*.py"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    return [REPO / p for p in out.split()]


def _module_name(path):
    rel = path.relative_to(REPO).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(["sarsense", *parts])


def _package_modules():
    """Every module of the package (not tests): name -> path."""
    return {_module_name(p): p for p in _tracked_python() if p.relative_to(REPO).parts[0] != "tests"}


def _imports(path, name, modules):
    """The project modules ``path`` (module ``name``) imports, at module level or inside functions: ``from pkg
    import sub`` depends on the module ``pkg.sub`` only, ``from pkg import name`` on ``pkg`` itself."""
    is_pkg = path.name == "__init__.py"
    base = name.split(".") if is_pkg else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parent = base[:len(base) - (node.level - 1)]
                target = ".".join(parent + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("sarsense"):
                subs = {f"{target}.{a.name}" for a in node.names} & set(modules)
                found.update(subs)
                if len(subs) < len(node.names):
                    found.add(target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("sarsense"))
    return found


def _graph():
    modules = _package_modules()
    graph = {}
    for name, path in modules.items():
        graph[name] = {m for m in _imports(path, name, modules) if m in modules and m != name}
    return graph


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_among_the_project_modules():
    graph = _graph()
    assert len(graph) > 60  # the whole package was read
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_imports_run_one_way():
    """The core and the simulators never import QGIS, PyQt or the plugin side."""
    for name, path in _package_modules().items():
        if not name.startswith(("sarsense.algorithms", "sarsense.simulators")):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            for n in names:
                assert not n.startswith(("qgis", "PyQt", "processing", "sarsense.sarsense_qgis")), f"{name} imports {n}"


def test_no_sys_path_manipulation():
    """Tests, demo, bench and training import the package as installed (`make setup` links the checkout); only the
    plugin's own private package folder is appended, at run time, by setup_tools (documented there)."""
    for path in _tracked_python():
        if path.relative_to(REPO).as_posix() in ("sarsense_qgis/setup_tools.py", "tests/core/layout/test_layout.py"):
            continue
        text = path.read_text(encoding="utf-8")
        for bad in ("sys.path.insert", "sys.path.append", "sys.path[", "sys.path.extend"):
            assert bad not in text, f"{path.relative_to(REPO)} manipulates sys.path ({bad})"


def _algorithm_classes():
    for path in sorted((REPO / "sarsense_qgis" / "processing").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                yield path, node


def test_processing_classes_are_small():
    big = [f"{p.relative_to(REPO)}:{c.name} ({c.end_lineno - c.lineno + 1} lines)" for p, c in _algorithm_classes()
           if c.end_lineno - c.lineno + 1 > MAX_CLASS_LINES]
    assert big == []


def test_no_kernel_is_defined_inside_process():
    """process()/processAlgorithm() read parameters, call one core job and style outputs: no def, no lambda."""
    found = []
    for path, cls in _algorithm_classes():
        for fn in cls.body:
            if isinstance(fn, ast.FunctionDef) and fn.name in ("process", "processAlgorithm"):
                inner = [n for n in ast.walk(fn) if n is not fn and isinstance(n, (ast.FunctionDef, ast.Lambda))]
                if inner:
                    found.append(f"{path.relative_to(REPO)}:{cls.name}.{fn.name} line {inner[0].lineno}")
    assert found == []


@pytest.mark.parametrize("suite", ["sar_preparation", "sentinel1", "neural_networks", "soil_moisture", "crop", "lst",
                                   "sea_ice"])
def test_every_suite_has_its_processing_package(suite):
    assert (REPO / "sarsense_qgis" / "processing" / suite / "__init__.py").exists()
