"""What a class hands in, as `course grade` finds it: one entry per student id, each a
notebook or the reason there is none.

Every entry gets a row: a top-level file that is not a notebook, a symbolic link (never
followed), a zip member that cannot be unpacked safely, and two entries whose names clean
to one id are failures that name their files. A notebook over MAX_NOTEBOOK_BYTES is
refused before anything parses it.
"""
import re
import zipfile
from pathlib import Path, PurePosixPath

import nbformat

from coursetools.curriculum import CURRICULUM

STUDENT_ID = re.compile(r"[^A-Za-z0-9_.@-]+")
IGNORED = {"__MACOSX", ".ipynb_checkpoints"}
MAX_MEMBER_BYTES = 256 * 2 ** 20     # one file of a zip of submissions
MAX_ARCHIVE_BYTES = 8 * 2 ** 30      # a whole zip, unpacked
#: a notebook larger than this fails before anything parses it (a chapter's notebook with
#: all its figures is well under 2 MB)
MAX_NOTEBOOK_BYTES = 8 * 2 ** 20


def student_id(raw):
    """A safe student id from a file or folder name ('Ann Lee (2).ipynb' -> 'Ann_Lee_2')."""
    cleaned = STUDENT_ID.sub("_", raw).strip("_.-@")    # no hidden files, no CSV formulas
    return cleaned or "unnamed"


def collect(source, assignment, scratch):
    """Map student id -> notebook path (or why there is none) from a folder or a .zip.

    Layouts: <dir>/<student>.ipynb, <dir>/<student>/<any path>/<assignment>.ipynb,
    or <dir>/<student>/ holding exactly one notebook. Every entry gets an id and a
    row: a top-level file that is not a notebook, a symbolic link, a zip member that
    cannot be unpacked, or two entries whose names clean to one id are failures
    that say so (named by the files), never silently dropped or renamed.
    """
    source = Path(source)
    refused = {}
    if source.is_file() and zipfile.is_zipfile(source):
        folder = Path(scratch) / "unzipped"
        refused = _safe_extract(source, folder)
        source = folder
    if not source.is_dir():
        raise FileNotFoundError(f"{source} is neither a folder nor a zip file of submissions")
    found, origins, others = {}, {}, []
    for entry in sorted(source.iterdir()):
        if entry.name.startswith(".") or entry.name in IGNORED:
            continue
        if entry.is_symlink():
            _add(found, origins, _owner(entry.name), f"{entry.name} is a symbolic link, "
                 "which is refused: submit the notebook itself", entry.name)
        elif entry.is_file() and entry.suffix == ".ipynb":
            _add(found, origins, student_id(entry.stem), entry, entry.name)
        elif entry.is_dir():
            _add(found, origins, student_id(entry.name), _notebook_in(entry, assignment),
                 entry.name + "/")
        else:
            others.append(entry)
    for entry in others:      # a stray file beside a student's notebook takes nothing from it
        student = student_id(entry.stem)
        if student not in found:
            _add(found, origins, student, f"{entry.name} is not a notebook (a submission is "
                 "a .ipynb file, or a folder holding one)", entry.name)
    for student, reason in refused.items():
        found[student] = reason
    return found


def _owner(name):
    """The student id a file, folder or zip member name belongs to."""
    parts = [p for p in PurePosixPath(name.replace("\\", "/")).parts if p not in ("/", "..", ".")]
    if not parts:
        return "unnamed"
    first = parts[0]
    return student_id(first[:-len(".ipynb")] if first.endswith(".ipynb") else first)


def _add(found, origins, student, notebook, origin):
    """Add one submission; a second one with the same id fails both, naming every file."""
    if student in found:
        origins[student].append(origin)
        names = " and ".join(repr(o) for o in origins[student])
        found[student] = (f"{names} give the same student id {student!r}: rename one "
                          "and grade again")
        return
    origins[student] = [origin]
    found[student] = notebook


def _notebook_in(folder, assignment):
    links = [p for p in folder.rglob("*") if p.is_symlink()]
    if links:
        return (f"{links[0].relative_to(folder.parent)} is a symbolic link, which is refused: "
                "submit the files themselves")
    notebooks = [p for p in folder.rglob("*.ipynb")
                 if not any(part in IGNORED or part.startswith(".") for part in p.parts)]
    named = [p for p in notebooks if p.name == f"{assignment}.ipynb"]
    if len(named) == 1:
        return named[0]
    if len(notebooks) == 1:
        return notebooks[0]
    if not notebooks:
        return "no notebook in the submission"
    return f"{len(notebooks)} notebooks and none (or several) named {assignment}.ipynb"


def _safe_extract(archive, target):
    """Unpack ``archive`` into ``target``; {student id: why} for the members refused.

    A member that points outside the folder, is a link, is larger than
    MAX_MEMBER_BYTES or cannot be read fails its student only; an archive that
    unpacks to more than MAX_ARCHIVE_BYTES is refused whole (ValueError).
    """
    target = Path(target).resolve()
    target.mkdir(parents=True, exist_ok=True)
    refused, total = {}, 0
    with zipfile.ZipFile(archive) as zf:
        for member in zf.infolist():
            name, owner = member.filename, _owner(member.filename)
            destination = (target / name).resolve()
            kind = (member.external_attr >> 16) & 0o170000
            why = None
            if target not in destination.parents and destination != target:
                why = f"the zip member {name!r} points outside the archive"
            elif kind == 0o120000:
                why = f"the zip member {name!r} is a symbolic link"
            elif member.file_size > MAX_MEMBER_BYTES:
                why = (f"the zip member {name!r} is {member.file_size / 2 ** 20:.0f} MB, over "
                       f"the {MAX_MEMBER_BYTES // 2 ** 20} MB a file may be")
            if why is None and not member.is_dir():
                total += member.file_size
                if total > MAX_ARCHIVE_BYTES:
                    raise ValueError(f"{archive} unpacks to more than "
                                     f"{MAX_ARCHIVE_BYTES // 2 ** 30} GB; refusing it")
                try:
                    zf.extract(member, target)
                except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
                    why = f"the zip member {name!r} could not be unpacked ({type(exc).__name__})"
            if why is not None:
                refused.setdefault(owner, why + "; it was refused")
    return refused


def read_notebook(path):
    """The notebook at ``path``, or why it cannot be graded: a file over
    MAX_NOTEBOOK_BYTES is refused before anything parses it."""
    try:
        size = Path(path).stat().st_size
    except OSError as exc:
        return f"the notebook could not be read ({exc.strerror})"
    if size > MAX_NOTEBOOK_BYTES:
        return (f"the notebook is {size / 2 ** 20:.1f} MB, over the "
                f"{MAX_NOTEBOOK_BYTES // 2 ** 20} MB a submission may be (clear large "
                "outputs: Edit, Clear Outputs of All Cells)")
    try:
        return nbformat.read(str(path), as_version=4)
    except Exception as exc:
        return f"not a readable notebook ({type(exc).__name__})"


def belongs_to(nb, assignment):
    """The other assignment ``nb`` is a notebook of, when it has none of ``assignment``'s
    graded cells but some of another's; else None."""
    ids = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.cells}
    if ids & set(CURRICULUM.get(assignment, ())):
        return None
    found = max(CURRICULUM, key=lambda other: len(ids & set(CURRICULUM[other])))
    return found if found != assignment and ids & set(CURRICULUM[found]) else None
