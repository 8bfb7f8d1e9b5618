"""Demonstration cells that `course grade` does not run.

A chapter's demonstration cells draw its figures and print its tables with nnlib's
reference code (CONTRIBUTING.md), so they show the same thing for every student, and
they are most of what grading a notebook costs. Such a cell is skipped when the
submission has it as the solution has it, and no cell that still runs after it reads a
name it defines, or a name of data it reads (it might have changed that data in place).
Names are found statically (``symtable``), in the grader: nothing of the student's runs.
A cell that cannot be read that way, or that reaches names dynamically (``globals()``,
``eval``, IPython's ``Out``, ...), counts as reading every name, so nothing before it
is skipped.
"""
import json
import re
import symtable
from pathlib import Path

from coursetools.grade.limits import cell_key

#: tags and names of cells that always run: the setup cell (the imports)
ALWAYS_RUN_TAGS = {"course-setup"}
#: a cell that reads any of these may reach any name (or an earlier cell's output)
DYNAMIC_NAMES = {"globals", "locals", "vars", "eval", "exec", "compile", "get_ipython",
                 "__import__", "__builtins__", "__main__", "builtins", "sys", "inspect",
                 "importlib", "gc", "In", "Out", "_ih", "_oh", "_dh", "_i", "_ii", "_iii",
                 "_", "__", "___"}
EVERYTHING = None
_STAR_IMPORT = re.compile(r"\bimport\s*\(?\s*\*")
#: IPython lines that install packages or pick a plotting backend: they read no names
_HARMLESS_MAGIC = re.compile(r"^([ \t]*)(?:%(?:pip|conda|matplotlib)|!pip)\b.*$", re.MULTILINE)
DEMONSTRATION, TRY_OUT = "demonstration", "try-out"
TRY_OUT_TAG = "skip-execution"      # the book does not run them: they call the stubs


def candidates(nb):
    """{cell key (``limits.cell_key``): kind} of the solution's cells that grading may
    leave out: code cells that are neither graded nor answers, nor the setup cell. The
    kind is TRY_OUT for a cell that calls the student's functions (tagged
    ``skip-execution``, CONTRIBUTING.md), DEMONSTRATION for the others."""
    return {cell_key(cell): TRY_OUT if TRY_OUT_TAG in _tags(cell) else DEMONSTRATION
            for cell in nb.cells
            if cell.cell_type == "code" and not _graded(cell) and not ALWAYS_RUN_TAGS & _tags(cell)}


def names(source):
    """(names the cell binds, names it reads from the notebook's namespace, names it
    imports or defines), or EVERYTHING when the cell cannot be read statically (IPython
    syntax other than ``%pip`` and ``%matplotlib``) or reads names dynamically."""
    if _STAR_IMPORT.search(source) or "__main__" in source:
        return EVERYTHING
    try:
        table = symtable.symtable(_HARMLESS_MAGIC.sub(r"\1pass", source), "<cell>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return EVERYTHING
    binds, reads, imported = set(), set(), set()
    for symbol in table.get_symbols():
        name = symbol.get_name()
        if symbol.is_assigned() or symbol.is_imported() or symbol.is_namespace():
            binds.add(name)
        if symbol.is_imported() or symbol.is_namespace():
            imported.add(name)
        if symbol.is_referenced():
            reads.add(name)
    stack = list(table.get_children())
    while stack:
        scope = stack.pop()
        stack.extend(scope.get_children())
        for symbol in scope.get_symbols():
            if symbol.is_global() and symbol.is_referenced():
                reads.add(symbol.get_name())
            if symbol.is_declared_global() and symbol.is_assigned():
                binds.add(symbol.get_name())
    if reads & DYNAMIC_NAMES:
        return EVERYTHING
    return binds, reads, imported


def skippable(cells, demonstrations, test_sources, skip_tag=None):
    """{index: kind} of the cells not to run: cells whose keys are in ``demonstrations``
    (``candidates`` of the solution) and whose names no later running cell reads.
    ``test_sources`` maps a test cell's grade id to its source of record, which is what
    reads the kernel's names for it; cells tagged ``skip_tag`` do not run anyway."""
    data_names = set()          # names some cell assigns (not only imports, defs, classes)
    analysed, opaque = {}, False       # opaque: a cell that may bind any name
    for index, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        source = test_sources.get(_grade_id(cell), cell.source)
        analysed[index] = names(source)
        if analysed[index] is EVERYTHING:
            opaque = True
        else:
            binds, _, imported = analysed[index]
            data_names |= binds - imported
    needed, everything, skipped = set(), False, {}
    for index in sorted(analysed, reverse=True):
        cell, found = cells[index], analysed[index]
        if skip_tag in _tags(cell):
            continue
        if (not everything and found is not EVERYTHING and not _graded(cell)
                and cell_key(cell) in demonstrations):
            binds, reads, _ = found
            shared = reads if opaque else reads & data_names
            if not binds & needed and not shared & needed:
                skipped[index] = demonstrations[cell_key(cell)]
                continue
        if found is EVERYTHING:
            everything = True
        else:
            needed |= found[1]
    return skipped


def _grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _graded(cell):
    info = cell.metadata.get("nbgrader", {})
    return bool(info.get("grade") or info.get("solution") or info.get("task"))


def _tags(cell):
    tags = cell.metadata.get("tags", [])
    return {t for t in tags if isinstance(t, str)} if isinstance(tags, list) else set()


def write(path, nb):
    """Save the solution notebook ``nb``'s demonstration cells for the executor."""
    Path(path).write_text(json.dumps(candidates(nb), indent=1, sort_keys=True),
                          encoding="utf-8")


def read(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))
