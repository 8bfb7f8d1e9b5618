"""nbgrader preprocessors the course adds (wired up in nbgrader_config.py)."""
import ast

from IPython.core.inputtransformer2 import TransformerManager
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

SETUP_TAG = "course-setup"


class StripCellTags(NbGraderPreprocessor):
    """Remove every cell tag before autograding.

    Tags are student-editable. Executors honour some of them (``skip-execution``,
    ``raises-exception``), so a tag added to a test cell must never change a grade.
    """

    def preprocess_cell(self, cell, resources, index):
        cell.metadata.pop("tags", None)
        if "jupyter" in cell.metadata:
            cell.metadata["jupyter"].pop("source_hidden", None)
        return cell, resources


class InsertSetupCell(NbGraderPreprocessor):
    """Make the cell tagged ``course-setup`` install nnlib where it is missing (Colab, a fresh hub).

    The repository URL comes from _config.yml, the one place it is set. The cell is
    locked, so autograding always runs the released version of it, and folded on
    the website.
    """

    repository_url = Unicode("", help="git URL of the course repository").tag(config=True)
    branch = Unicode("main", help="branch to install nnlib from").tag(config=True)

    def bootstrap_lines(self):
        return [
            "# Setup: installs the course's library `nnlib` when it is missing (Colab, a fresh hub).",
            "try:",
            "    import nnlib",
            "except ImportError:",
            f'    %pip install --quiet "nnlib @ git+{self.repository_url}@{self.branch}"',
            "",
        ]

    def preprocess(self, nb, resources):
        setup = [c for c in nb.cells if SETUP_TAG in c.metadata.get("tags", [])]
        if len(setup) != 1 or setup[0].cell_type != "code":
            raise ValueError(f"{resources.get('unique_key', 'notebook')}: expected exactly one code "
                             f"cell tagged '{SETUP_TAG}', found {len(setup)}")
        cell = setup[0]
        if not self.repository_url:
            raise ValueError("InsertSetupCell.repository_url is not set (see _config.yml)")
        cell.source = "\n".join(self.bootstrap_lines()) + cell.source
        cell.metadata["tags"] = sorted(set(cell.metadata["tags"]) | {"hide-input"})  # the book folds it
        cell.metadata["nbgrader"] = {"grade": False, "solution": False, "locked": True,
                                     "task": False, "grade_id": "setup", "schema_version": 3}
        return nb, resources


class ShortTracebacks(NbGraderPreprocessor):
    """In feedback, shorten every error to its one-line message.

    A traceback quotes the source of the cell that raised, and in a test cell that
    source includes the hidden tests. ``ClearHiddenTests`` only clears the source.
    """

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources


# What student code may not touch during grading: the grader, the interpreter's
# import machinery, and IPython itself (input transformers and events can rewrite
# or silence the test cells that run after it).
_FORBIDDEN_NAMES = {"get_ipython", "__import__", "__builtins__", "exec", "eval", "compile",
                    "globals", "vars", "setattr", "delattr"}
_FORBIDDEN_MODULES = {"builtins", "importlib", "ctypes", "gc", "inspect", "IPython",
                      "ipykernel", "nbgrader", "nbclient"}
_FORBIDDEN_SYS = {"modules", "meta_path", "path_hooks", "settrace", "setprofile", "_getframe"}
_FORBIDDEN_ATTRS = {"__setattr__", "__delattr__", "__dict__", "__globals__", "__code__",
                    "__builtins__", "__subclasses__", "__closure__", "__defaults__",
                    "__kwdefaults__", "__loader__", "__spec__", "__traceback__", "tb_frame",
                    "f_back", "f_globals", "f_locals", "f_builtins", "gi_frame", "cr_frame"}


def _problems(tree):
    """(line, reason) for every construct in ``tree`` that could tamper with grading."""
    nnlib_names, sys_names, found = set(), {"sys"}, []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            module = (node.module or "") if isinstance(node, ast.ImportFrom) else ""
            for alias in node.names:
                full = f"{module}.{alias.name}" if module else alias.name
                root = full.split(".")[0]
                if root in _FORBIDDEN_MODULES:
                    found.append((node.lineno, f"imports {root}"))
                if full.startswith("nnlib.grading"):
                    found.append((node.lineno, "imports nnlib.grading"))
                if module == "sys" and alias.name in _FORBIDDEN_SYS:
                    found.append((node.lineno, f"imports sys.{alias.name}"))
                if root == "nnlib":
                    nnlib_names.add((alias.asname or alias.name).split(".")[0])
                if full == "sys" and alias.asname:
                    sys_names.add(alias.asname)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in _FORBIDDEN_NAMES:
            why = ("uses get_ipython (IPython magics such as %timeit and !commands become it)"
                   if node.id == "get_ipython" else f"uses {node.id}")
            found.append((node.lineno, why))
        elif isinstance(node, ast.Attribute) and node.attr in _FORBIDDEN_ATTRS:
            found.append((node.lineno, f"uses {node.attr}"))
        elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
              and node.value.id in sys_names and node.attr in _FORBIDDEN_SYS):
            found.append((node.lineno, f"uses sys.{node.attr}"))
        elif isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(
                node.ctx, (ast.Store, ast.Del)) and _root_name(node) in nnlib_names:
            found.append((node.lineno, "assigns into nnlib"))
    return sorted(set(found))


def _root_name(node):
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


class GuardStudentCode(NbGraderPreprocessor):
    """Disarm student code that could change how the tests run.

    Runs after OverwriteCells, so a cell that still has a grade id and is locked is
    the course's own. In every other code cell, each top-level statement that
    imports the grader, assigns into nnlib, or reaches for IPython or the import
    machinery (magics included) is replaced by a printed note; the rest of the
    cell runs as written, so a harmless ``%timeit`` costs nothing but itself.
    """

    def preprocess_cell(self, cell, resources, index):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or (meta.get("grade_id") and meta.get("locked")):
            return cell, resources
        source = TransformerManager().transform_cell(cell.source)
        try:
            tree = ast.parse(source)
        except SyntaxError:
            return cell, resources   # it fails on its own when it runs
        problems = _problems(tree)
        if not problems:
            return cell, resources
        lines = source.splitlines()
        for statement in reversed(tree.body):
            hits = [(ln, why) for ln, why in problems
                    if statement.lineno <= ln <= statement.end_lineno]
            if hits:
                line, why = hits[0]
                note = (f"print('The autograder did not run line {line} of this cell: it {why}, "
                        "which could change how the tests run.')")
                lines[statement.lineno - 1:statement.end_lineno] = [note]
        cell.source = "\n".join(lines)
        return cell, resources
