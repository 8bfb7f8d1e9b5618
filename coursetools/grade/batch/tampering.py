"""What a submission did that a student's honest work does not: the integrity report.

It reports; it never scores. Scores are decided outside the student's kernel
(coursetools/grade/worker/execute.py), so nothing here needs to be complete: it names what is
worth an instructor's look, with the cell it happened in.

Four sources: the notebook's structure against the released one (test cells
deleted, copied, re-tagged or edited; locked cells edited), what the student's
code reaches for (IPython's shell, the grader, numpy's functions, the network,
the gradebook, ...), answers that are nnlib's own code pasted in, and what the
kernel did while graded (notes written by the executor: it died, did not answer,
kept running).
"""
import ast
import copy
import csv
import difflib
import functools
import io
import json
import re
import tokenize
from pathlib import Path

from coursetools.grade.batch import plain

#: characters of one code cell read for the report (a long cell is itself reported)
MAX_SOURCE_READ = 100_000
#: (regular expression over a cell's source, what it means); a report, not a rule
REACHES = [
    (r"\bget_ipython\b|\b_ip\b|\bInteractiveShell\b|\bipykernel\b", "reaches IPython's shell"),
    (r"input_transformers|ast_transformers|set_custom_exc|showtraceback|events\.register",
     "changes how IPython runs or reports cells"),
    (r"nnlib\s*\.\s*grading|from\s+nnlib\s+import\s+grading|nnlib\.grading",
     "uses the grader (nnlib.grading)"),
    (r"\b(np|numpy)\s*\.\s*\w+\s*=[^=]|setattr\s*\(\s*(np|numpy)\b|(np|numpy)\.__dict__",
     "replaces numpy's functions"),
    (r"\bbuiltins\b|__builtins__", "changes Python's builtins"),
    (r"sys\s*\.\s*(modules|meta_path|path_hooks|settrace|setprofile|_getframe)|\bctypes\b"
     r"|\bgc\b|\bf_back\b|\bf_globals\b|__subclasses__|\binspect\s*\.\s*(stack|currentframe)",
     "reaches into the interpreter"),
    (r"gradebook|\.db\b|sqlite3?", "looks for the gradebook"),
    (r"\bsocket\b|urllib|requests\.|http\.client|\bsmtplib\b", "opens a network connection"),
    (r"os\s*\.\s*(fork|_exit|kill|killpg|setsid|system)|\bsubprocess\b|\bmultiprocessing\b",
     "starts or stops processes"),
    (r"sys\s*\.\s*exit|\bexit\s*\(|\bquit\s*\(", "exits the kernel"),
    (r"signal\s*\.\s*signal", "changes signal handlers"),
    (r"\.\.[/\\]|os\s*\.\s*walk|glob\s*\.|os\s*\.\s*listdir|shutil\s*\.\s*(rmtree|copy|move)",
     "walks or changes folders outside its own"),
]


def _grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def structure(submitted, release):
    """(cell, what) for every test or locked cell that was deleted, copied, re-tagged or edited."""
    found = []
    released = {_grade_id(c): c for c in release.cells if _grade_id(c)}
    counts = {}
    for cell in submitted.cells:
        grade_id = _grade_id(cell)
        if grade_id:
            counts[grade_id] = counts.get(grade_id, 0) + 1
    for grade_id, original in released.items():
        meta = original.metadata.get("nbgrader", {})
        guarded = meta.get("locked") or (meta.get("grade") and not meta.get("solution"))
        if not guarded:
            continue
        copies = [c for c in submitted.cells if _grade_id(c) == grade_id]
        if not copies:
            found.append((grade_id, "the cell was deleted (it was put back and run)"))
            continue
        if len(copies) > 1:
            found.append((grade_id, f"the cell appears {len(copies)} times (one counts)"))
        for duplicate in copies:
            if duplicate.source.strip() != original.source.strip():
                found.append((grade_id, "the locked cell was edited (the original ran)"))
            added = (set(duplicate.metadata.get("tags", []))
                     - set(original.metadata.get("tags", [])))
            if added:
                found.append((grade_id, f"tags were added ({', '.join(sorted(added))}); "
                                        "they were ignored"))
    return found


def reaches(submitted, release):
    """(cell, what) for each student-written code cell that reaches for the grader's machinery."""
    found = []
    released = {c.source.strip() for c in release.cells if c.cell_type == "code"}
    for index, cell in enumerate(submitted.cells):
        if cell.cell_type != "code" or cell.source.strip() in released:
            continue
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("locked") and not meta.get("solution"):
            continue                         # the course's own cell, put back when graded
        if len(cell.source) > MAX_SOURCE_READ:
            found.append((_grade_id(cell) or f"cell {index}",
                          f"a code cell of {len(cell.source):,} characters (not read further)"))
            continue
        source = _without_comments(cell.source)
        for pattern, what in REACHES:
            if re.search(pattern, source):
                found.append((_grade_id(cell) or f"cell {index}", what))
    return found


#: a graded definition this alike to nnlib's, token for token, is named as a near-copy;
#: shorter references than MIN_REFERENCE_TOKENS are left out (one line of numpy is written
#: the same way by everyone)
NEAR_COPY_RATIO, MIN_REFERENCE_TOKENS = 0.95, 40
NEAR_COPY = "is nearly identical to nnlib's reference"   # how such a finding reads


def copies_of_reference(submitted, graded_names):
    """(grade id, what) for each answer cell whose definition of its graded name is nearly
    nnlib's own (after docstrings and comments are dropped): pasted, not written."""
    found = []
    for cell in submitted.cells:
        name = _grade_id(cell)
        meta = cell.metadata.get("nbgrader", {})
        if (cell.cell_type != "code" or name not in graded_names or not meta.get("solution")
                or len(cell.source) > MAX_SOURCE_READ):
            continue
        reference = _reference_tokens(name)
        if len(reference) < MIN_REFERENCE_TOKENS:
            continue
        try:
            mine = definition(ast.parse(cell.source), name)
        except (SyntaxError, ValueError):
            continue
        if mine is None:
            continue
        ratio = difflib.SequenceMatcher(None, code_tokens(mine), reference, autojunk=False).ratio()
        if ratio >= NEAR_COPY_RATIO:
            found.append((name, f"{name} {NEAR_COPY} "
                                f"({ratio:.0%} alike, token for token): pasted, not written"))
    return found


@functools.lru_cache(maxsize=None)
def _reference_tokens(name):
    import inspect

    import nnlib
    try:
        return code_tokens(definition(ast.parse(inspect.getsource(getattr(nnlib, name))), name))
    except (AttributeError, OSError, TypeError):
        return []


def definition(tree, name):
    """The def or class ``name`` in ``tree``, or None."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and \
                node.name == name:
            return node
    return None


def code_tokens(node):
    """The tokens of ``node``'s code without docstrings or comments (similarity.py
    compares students' code with them too)."""
    node = copy.deepcopy(node)
    for inner in ast.walk(node):
        body = getattr(inner, "body", None)
        if (isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            inner.body = body[1:] or [ast.Pass()]
    skipped = {tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
               tokenize.COMMENT, tokenize.ENDMARKER}
    text = io.StringIO(ast.unparse(node)).readline
    return [t.string for t in tokenize.generate_tokens(text) if t.type not in skipped]


def _without_comments(source):
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    return ast.unparse(tree)


def read_notes(path):
    """The executor's notes for one student (a JSON list of {cell, what}); none if unreadable."""
    try:
        notes = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [n for n in notes if isinstance(n, dict)]


def write_csv(path, findings):
    """integrity.csv: one row per (student, cell, what); a report, not a score."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student_id", "cell", "what"])
        for student in sorted(findings):
            for cell, what in findings[student]:
                writer.writerow([plain.csv_cell(student), plain.csv_cell(cell),
                                 plain.csv_cell(what)])
