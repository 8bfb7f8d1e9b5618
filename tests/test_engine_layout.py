"""The grading engine's layout (coursetools/grade/): one folder per place its code runs, and
imports that follow the processes. Read from the source, so a function-level import counts."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _modules():
    """{dotted name: path} of every module of nnlib and coursetools."""
    found = {}
    for package in ("nnlib", "coursetools"):
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()
TREES = {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in MODULES.items()}


def _imports(tree):
    """The modules of MODULES that ``tree`` imports anywhere in it."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                inner = f"{node.module}.{alias.name}"
                found.add(inner if inner in MODULES else node.module)
    return {name for name in found if name in MODULES}


GRAPH = {name: _imports(tree) - {name} for name, tree in TREES.items()}


def _cycles(graph):
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_the_layout_is_read_from_the_real_folders():
    assert {"coursetools.grade.batch.autograde", "coursetools.grade.worker.execute",
            "coursetools.grade.sandbox.zygote", "coursetools.grade.protocol.remote",
            "coursetools.grade.protocol.kernel_side", "nnlib.grading.core"} <= set(GRAPH)
    assert "coursetools.grade.protocol.wire" in GRAPH["coursetools.grade.protocol.framing"]


def test_no_module_imports_itself_back_through_others():
    assert _cycles(GRAPH) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _within(prefixes):
    return lambda name: any(name == p or name.startswith(p + ".") for p in prefixes)


#: where each folder's modules may import from (besides their own folder)
ALLOWED = {
    # nnlib is what students install and what the checks are; the engine is not part of it
    "nnlib": _within(["nnlib"]),
    # the kernel's side runs in the sandbox, beside the chapter's copy of nnlib
    "coursetools.grade.protocol": _within(["coursetools.grade.protocol",
                                           "coursetools.grade.timeouts", "nnlib"]),
    # the sandbox and its kernel maker: the packages' folders (to bind them), nothing else
    "coursetools.grade.sandbox": lambda name: name in ("coursetools", "nnlib",
                                                       "coursetools.grade.timeouts"),
    # a slot: never the batch
    "coursetools.grade.worker": lambda name: not name.startswith("coursetools.grade.batch"),
}


@pytest.mark.parametrize("folder", sorted(ALLOWED))
def test_each_folder_imports_only_what_runs_in_its_process(folder):
    inside = _within([folder])
    wrong = {name: sorted(other for other in imported if not inside(other)
                          and not ALLOWED[folder](other))
             for name, imported in GRAPH.items() if inside(name)}
    assert {name: others for name, others in wrong.items() if others} == {}


def test_what_the_batch_and_the_slots_share_imports_neither():
    shared = [name for name in GRAPH if name.count(".") == 2
              and name.startswith("coursetools.grade.")]
    assert {"coursetools.grade.gradebook", "coursetools.grade.limits",
            "coursetools.grade.exam", "coursetools.grade.timeouts"} <= set(shared)
    for name in shared:
        assert not any(other.startswith(("coursetools.grade.batch", "coursetools.grade.worker"))
                       for other in GRAPH[name]), name


def _subclassed_libraries():
    """{top-level package: [class of ours]} for every third-party class the course's code
    subclasses."""
    import sys
    found = {}
    for name, tree in TREES.items():
        imported = {alias.asname or alias.name: node.module.split(".")[0]
                    for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                    and node.module and not node.level for alias in node.names}
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for base in node.bases:
                    top = imported.get(base.id) if isinstance(base, ast.Name) else None
                    if top and top not in sys.stdlib_module_names \
                            and top not in ("nnlib", "coursetools"):
                        found.setdefault(top, []).append(f"{name}.{node.name}")
    return found


def test_the_pins_cover_every_library_whose_classes_are_subclassed():
    import re
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    subclassed = _subclassed_libraries()
    assert {"nbgrader", "jupyter_client", "nbconvert", "jinja2"} <= set(subclassed)
    unpinned = {top: ours for top, ours in subclassed.items()
                if not re.search(rf'"{top}>=[^"]*,<[^"]+"', pyproject)}
    assert unpinned == {}, "give these an upper bound in pyproject.toml"
