"""The nnlib a chapter is graded with: no answer key in the exam room.

Student code in `course grade` runs in a sandbox (``coursetools.grade.sandbox``) that
sees nnlib. Whatever is there a student can run, by any route: calling it, rebuilding its
code objects, copying its folder under another name. So the sandbox gets a copy of
nnlib in which every public function and class a chapter's answers could be taken
from is a stub that raises: its graded names, and everything else of nnlib's but

- what those graded names build on (``BUILDS_ON``), and what that uses in turn;
- the data sets and figures (``datasets``, ``plotting``) and the private helpers.

Of ``nnlib.grading`` only what the kernel needs to answer the grader is there
(``core``'s watch, and the functions checks hand to student code to call,
``kernel_functions``): the checks themselves, whose helpers compute expected values,
run in the grader and are not in the sandbox.

A graded name that another graded name of the same chapter builds on is a building
block (chapter 7's ``iterate_minibatches``, chapter 8's ``Value``, chapter 9's
``softmax``). Its stub stays until the block's own test cell has been decided; then
the grader hands its code over (``coursetools.grade.protocol.kernel_side._unlock``), since an
answer already graded is no longer a key, and what builds on it runs on nnlib's own.
Before that, a function's stub asks the grader, which computes it only while it
checks a graded name that builds on it (``coursetools.grade.protocol.kernel_side.served``).
"""
import ast
import copy
import re
import shutil
from pathlib import Path

import nnlib
from coursetools.curriculum import CURRICULUM
from nnlib.grading.core import BUILDS_ON

#: modules kept whole: data and pictures, no answers
KEPT_MODULES = {"datasets", "plotting", "_validate", "__init__"}
#: the modules of nnlib.grading the student's kernel uses; the checks are left out
KERNEL_GRADING_MODULES = {"core", "kernel_functions"}
_GRADING_INIT = '''"""nnlib.grading in `course grade`'s sandbox: the checks are not here.

A test cell runs in the grader's process, outside the sandbox (coursetools.grade.worker.execute);
the student's kernel only answers its requests (coursetools.grade.protocol).
"""


def __getattr__(name):
    raise AttributeError(f"nnlib.grading.{name} is not in the sandbox: the grader runs the "
                         "checks outside it")
'''
NNLIB = Path(nnlib.__file__).resolve().parent


def building_blocks(assignment):
    """The graded names of ``assignment`` that another of its graded names builds on."""
    graded = set(CURRICULUM[assignment])
    return {n for g in graded for n in BUILDS_ON.get(g, ()) if n in graded}


def served(assignment):
    """The building blocks the grader computes for the sandbox until they are handed over:
    the functions among them (a class cannot be computed elsewhere call by call)."""
    return {n for n in building_blocks(assignment) if not isinstance(getattr(nnlib, n), type)}


def build(assignment, target):
    """Write the chapter's copy of nnlib into ``target``/nnlib; return that folder and the
    names stubbed there."""
    target = Path(target) / "nnlib"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(NNLIB, target, ignore=shutil.ignore_patterns("__pycache__"))
    for path in (target / "grading").glob("*.py"):
        if path.stem not in KERNEL_GRADING_MODULES:
            path.unlink()
    (target / "grading" / "__init__.py").write_text(_GRADING_INIT, encoding="utf-8")
    trees = {path: ast.parse(path.read_text(encoding="utf-8"))
             for path in target.glob("*.py")}
    kept = _kept(assignment, trees)
    answers = set(CURRICULUM[assignment])
    stubbed = set()
    for path, tree in trees.items():
        changed = False
        for index, node in enumerate(tree.body):
            if (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                    and not node.name.startswith("_")
                    and (node.name in answers or (node.name not in kept
                                                  and path.stem not in KEPT_MODULES))):
                tree.body[index] = (_served_stub(node, assignment)
                                    if node.name in served(assignment) else _stub(node, assignment))
                stubbed.add(node.name)
                changed = True
        if changed:
            path.write_text(ast.unparse(ast.fix_missing_locations(tree)) + "\n",
                            encoding="utf-8")
    return target, stubbed


def _kept(assignment, trees):
    """Public names that stay: what the graded names build on, and what those use."""
    graded = set(CURRICULUM[assignment])
    definitions = {}
    for path, tree in trees.items():
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                definitions.setdefault(node.name, []).append(node)
    todo = [n for g in graded for n in BUILDS_ON.get(g, ())]
    todo += [node.name for path, tree in trees.items() if path.stem in KEPT_MODULES
             for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))
             and node.name not in graded]
    todo += [n for n in definitions if n.startswith("_")]
    kept = set()
    while todo:
        name = todo.pop()
        if name in kept or name in graded or name not in definitions:
            continue
        kept.add(name)
        for node in definitions[name]:
            todo += [n.id for n in ast.walk(node) if isinstance(n, ast.Name)]
    return kept


_STUB_MESSAGE = re.compile(r"^nnlib's \w+ is not available while \w+ is graded: ")


def is_stub_message(text):
    """Whether ``text`` is what a stub of this module raises."""
    return bool(_STUB_MESSAGE.match(str(text)))


def _served_stub(node, assignment):
    """``node`` (a function) as a call to the grader: kernel_side.served."""
    stub = _stub(node, assignment)
    stub.args = ast.parse("def f(*args, **kwargs): pass").body[0].args
    stub.body = stub.body[:-1] + ast.parse(
        f"return __import__('coursetools.grade.protocol.kernel_side', fromlist=['served']).served("
        f"{node.name!r}, {assignment!r}, args, kwargs)").body
    return stub


def _stub(node, assignment):
    """``node`` (a def or class) with a body that says why it is not there."""
    message = (f"nnlib's {node.name} is not available while {assignment} is graded: the "
               "grader compares your work with it")
    raise_it = ast.parse(f"raise RuntimeError({message!r})").body
    docstring = ([node.body[0]] if node.body and isinstance(node.body[0], ast.Expr)
                 and isinstance(getattr(node.body[0], "value", None), ast.Constant) else [])
    stub = copy.copy(node)
    stub.decorator_list = []
    if isinstance(node, ast.ClassDef):
        methods = ast.parse("def __init__(self, *args, **kwargs):\n    pass\n"
                            "@classmethod\ndef __init_subclass__(cls, **kwargs):\n    pass\n").body
        for method in methods:
            method.body = raise_it
        stub.bases, stub.keywords, stub.body = [], [], docstring + methods
    else:
        stub.returns, stub.body = None, docstring + raise_it
    return stub
