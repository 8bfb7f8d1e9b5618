"""`course grade`: autograde a whole class unattended.

For one assignment and a folder or zip of submissions this makes an nbgrader
course directory, grades every student in a subprocess of its own (a broken,
endless or kernel-killing notebook costs that student the points and nothing
else), writes each student's HTML feedback without hidden tests and a grades
CSV, and ends with a summary of what could not be graded.
"""
import compileall
import json
import functools
import html
import os
import queue
import secrets
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from traitlets.config import Config

from coursetools.curriculum import CURRICULUM
from coursetools.grade import demonstrations, exam, gradebook, limits, timeouts
from coursetools.grade.batch import plain, record, report, settings, tampering
from coursetools.grade.batch.submissions import belongs_to, collect, read_notebook
from coursetools.grade.sandbox.bubblewrap import check_available, SandboxUnavailable
from coursetools.grade.worker import feedback, slots


SECRET_FILE = "grading-secret"   # in the grading folder: see grading_secret()
#: how the solution notebook's id starts while it is timed (then the assignment and a random
#: part, for graders sharing one gradebook): a "+" is never in a student's (submissions)
SOLUTION_STUDENT = "solution+"


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

@dataclass
class Course:
    """One batch's grading folder and settings."""
    repo: Path
    assignment: str
    workdir: Path
    db_url: str
    sandbox: bool = True
    submission_timeout: float = timeouts.SUBMISSION
    integrity: Integrity = None      # only without a sandbox: the files to restore
    secret: str = ""                 # see grading_secret()
    roster: dict = field(default_factory=dict)   # roster.py: id -> names and email
    settings: Config = None          # what nbgrader is told (settings.py)


def prepare_course(repo, assignment, workdir, cell_timeout=None, sandbox=True, db_url=None,
                   run_demonstrations=False):
    """An nbgrader course directory in ``workdir`` whose source is the repository's solutions/.

    ``cell_timeout`` is every cell's time limit in seconds; None means a limit per cell
    from the solution's own times here (``coursetools.grade.limits``). ``db_url`` is the
    gradebook (default: SQLite in ``workdir``). Demonstration cells no later cell needs
    are not run (``coursetools.grade.demonstrations``) unless ``run_demonstrations``.
    Returns the Course.
    """
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    if not (Path(repo) / "solutions" / assignment).is_dir():
        raise ValueError(f"unknown assignment {assignment!r}: no folder solutions/{assignment}")
    db_url = gradebook.checked_url(db_url or gradebook.default_url(workdir))
    (workdir / "logs").mkdir(exist_ok=True)
    limits_file = workdir / "cell-limits.json"
    limits_file.unlink(missing_ok=True)
    source = Path(repo) / "solutions" / assignment / f"{assignment}.ipynb"
    demonstrations_file = workdir / "demonstrations.json"
    demonstrations_file.unlink(missing_ok=True)
    if not run_demonstrations:
        demonstrations.write(demonstrations_file, nbformat.read(str(source), as_version=4))
    nnlib_copy = None
    if sandbox:          # the sandbox's nnlib holds no answer this chapter grades
        nnlib_copy, _ = exam.build(assignment, workdir / "exam" / assignment)
        compileall.compile_dir(str(nnlib_copy), quiet=1)
    given = dict(workdir=workdir, db_url=db_url, course_id=gradebook.COURSE_ID, sandbox=sandbox,
                 nnlib_copy=nnlib_copy, source=Path(repo) / "solutions",
                 demonstrations_file=demonstrations_file if demonstrations_file.is_file()
                 else None)
    repo_config = Path(repo) / "nbgrader_config.py"
    config = settings.build(cell_timeout=cell_timeout or timeouts.CALIBRATION_CELL, **given)
    settings.write(workdir / "nbgrader_config.py", config, repo_config)
    with gradebook.open_gradebook(db_url):     # made here, once, before any slot writes to it
        pass
    run_nbgrader_step(["generate_assignment", assignment, "--force"], workdir,
                      workdir / "logs" / "course-generate_assignment.log",
                      f"nbgrader could not generate {assignment}")
    # released to the folder's own exchange, so formgrader lists the assignment as released
    (workdir / settings.EXCHANGE).mkdir(exist_ok=True)
    run_nbgrader_step(["release_assignment", assignment, "--force"], workdir,
                      workdir / "logs" / "course-release_assignment.log",
                      f"nbgrader could not release {assignment} to {workdir / settings.EXCHANGE}")
    course = Course(Path(repo), assignment, workdir, db_url, sandbox,
                    secret=grading_secret(workdir), settings=config)
    if cell_timeout is None:
        times = calibrate(course, source)
        course.settings = settings.build(cell_timeout=limits.write(limits_file, times),
                                         limits_file=limits_file, **given)
        settings.write(workdir / "nbgrader_config.py", course.settings, repo_config)
    return course


def calibrate(course, source):
    """{cell key: seconds} of the solution notebook ``source``, graded in a slot as a
    student's notebook is (the grader deciding its test cells), for the time limits
    (coursetools.grade.limits). RuntimeError unless it scores full marks: then the checks, the
    sandbox or its copy of nnlib would fail correct work, and nobody is graded."""
    assignment, workdir = course.assignment, course.workdir
    student = f"{SOLUTION_STUDENT}{assignment}+{uuid.uuid4().hex[:8]}"
    _forget(course, student)
    target = workdir / "submitted" / student / assignment
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target / f"{assignment}.ipynb")
    times_file, log_path = workdir / "logs" / "solution-times.json", workdir / "logs" / "solution.log"
    times_file.unlink(missing_ok=True)
    slot = slots.Slot(0, workdir, course.secret, course.settings)
    try:
        code = slot.run(["autograde", assignment, "--student", student, "--force",
                         f"--GradeOutsideKernel.timings={times_file}"],
                        log_path, timeouts.COURSE_STEP)
    finally:
        slot.close()
    _, graded = gradebook.intact_and_scores(course.db_url, assignment, student)
    _, total = gradebook.max_scores(course.db_url, assignment)
    autograded = workdir / "autograded" / student / assignment / f"{assignment}.ipynb"
    failing = [(cell, why[:400]) for cell, why in report.read_graded(autograded)[0].items()]
    _forget(course, student)
    gradebook.remove_student(course.db_url, student)
    for stage in ("submitted", "autograded", "feedback"):
        shutil.rmtree(workdir / stage / student, ignore_errors=True)
    (workdir / "integrity" / f"{student}.json").unlink(missing_ok=True)
    if isinstance(code, slots.Stopped) or code != 0 or graded is None or not times_file.is_file():
        raise RuntimeError(f"could not grade the solution notebook {source} to time its cells "
                           f"({code if isinstance(code, slots.Stopped) else f'exit code {code}'})"
                           f"; see {log_path}")
    if graded[0] < total:
        raise RuntimeError(
            f"the solution notebook {source} scores {graded[0]:g} of {total:g} points under "
            "course grade, so correct work would lose points too; nobody was graded. "
            + " ".join(f"{cell}: {why}" for cell, why in failing) + f" (see {log_path})")
    return json.loads(times_file.read_text(encoding="utf-8"))


def run_nbgrader_step(args, cwd, log_path, failure):
    """Run an nbgrader step of the instructor's (not a student's) in a preloaded process.

    Raises RuntimeError(``failure`` and nbgrader's output) when it does not succeed.
    """
    code = slots.run_once(args, cwd, log_path, timeouts.COURSE_STEP)
    if code != 0:
        output = log_path.read_text(encoding="utf-8", errors="replace") if log_path.is_file() else ""
        raise RuntimeError(f"{failure}:\n{output}")


def _forget(course, student):
    """Remove every trace of an earlier grading of this student, so no old score survives."""
    for stage in ("submitted", "autograded", "feedback"):
        shutil.rmtree(course.workdir / stage / student / course.assignment, ignore_errors=True)
    gradebook.forget(course.db_url, course.assignment, student)


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


def grade_one(course, student, notebook, slot):
    """Autograde one student's notebook in ``slot``; always returns a Result, never raises."""
    started = time.monotonic()
    result = Result(student)
    workdir, assignment = course.workdir, course.assignment
    _forget(course, student)
    if isinstance(notebook, str):
        result.status, result.reason = "failed", notebook
        return result
    nb = read_notebook(notebook)
    if not isinstance(nb, str) and (other := belongs_to(nb, assignment)) is not None:
        nb = f"this notebook is {other}, not {assignment}: grade it with that assignment"
    if isinstance(nb, str):
        result.status, result.reason = "failed", nb
        return result
    try:
        released = _released(workdir / "release" / assignment / f"{assignment}.ipynb")
        result.integrity = (tampering.structure(nb, released) + tampering.reaches(nb, released)
                            + tampering.copies_of_reference(nb, CURRICULUM.get(assignment, ())))
    except Exception as exc:    # the report must never stop the grading
        result.integrity = [("", f"could not be checked ({type(exc).__name__}: "
                                 f"{str(exc)[:200]})")]
    _drop_duplicates(nb)
    notes_file = workdir / "integrity" / f"{student}.json"
    notes_file.unlink(missing_ok=True)
    target = workdir / "submitted" / student / assignment
    target.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target / f"{assignment}.ipynb"))
    log_path = workdir / "logs" / f"{student}.log"
    snapshot = _snapshot(course)
    code = slot.run(["autograde", assignment, "--student", student, "--force",
                     f"--GradeOutsideKernel.slot={slot.number}"],
                    log_path, course.submission_timeout)
    autograded = workdir / "autograded" / student / assignment / f"{assignment}.ipynb"
    result.integrity += [(n.get("cell") or "the kernel", n.get("what", ""))
                         for n in tampering.read_notes(notes_file)]
    if course.integrity is not None and course.integrity.restore():
        result.status = "failed"
        result.reason = "the notebook changed the course's files (they were restored)"
        result.integrity.append(("", result.reason))
    intact, graded = gradebook.intact_and_scores(course.db_url, assignment, student)
    if not intact:
        if snapshot is not None:
            shutil.copyfile(snapshot, gradebook.sqlite_file(course.db_url))
        result.status, result.reason = "failed", "the notebook damaged the gradebook"
        result.integrity.append(("", result.reason))
    elif result.status == "failed":
        pass
    elif isinstance(code, slots.Stopped):
        result.status, result.reason = "failed", str(code)
    elif code != 0 or not autograded.is_file():
        result.status = "failed"
        log_text = log_path.read_text(encoding="utf-8", errors="replace") if log_path.is_file() else ""
        result.reason = _failure_reason(log_text)
    elif graded is None:
        result.status, result.reason = "failed", "nbgrader recorded no grade for it"
    else:
        result.score, result.cells = graded
    if result.status == "failed":
        _forget(course, student)   # no partial or stale grade stays behind
    result.seconds = time.monotonic() - started
    return result


@functools.lru_cache(maxsize=4)
def _read_released(path, stamp):
    return nbformat.read(str(path), as_version=4)


def _released(path):
    """The released notebook (read once per batch: it changes only when prepared anew)."""
    info = path.stat()
    return _read_released(path, (info.st_mtime_ns, info.st_size))


def _snapshot(course):
    """Without a sandbox, a copy of a SQLite gradebook to put back if the notebook damages it.

    In the sandbox no student code can reach the gradebook (and slots grade side by side,
    so there is no moment to copy it).
    """
    path = gradebook.sqlite_file(course.db_url)
    if course.sandbox or path is None:
        return None
    snapshot = course.workdir / "gradebook.before-student.db"
    shutil.copyfile(path, snapshot)
    return snapshot


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


# ------------------------------------------------------------------ feedback

def _feedback(course, result, slot):
    """nbgrader's feedback page for a graded student (hidden tests removed), in its slot."""
    log_path = course.workdir / "logs" / f"feedback-{result.student}.log"
    slot.run(["generate_feedback", course.assignment, "--student", result.student, "--force"],
             log_path, timeouts.COURSE_STEP)
    page = course.workdir / "feedback" / result.student / course.assignment
    if not (page / f"{course.assignment}.html").is_file():
        result.reason = "nbgrader could not render the feedback page"
        return
    feedback.ship_mathjax(page)


def write_failure_pages(workdir, assignment, results):
    """A page saying why, for every student without nbgrader's feedback page."""
    for r in results:
        folder = Path(workdir) / "feedback" / r.student / assignment
        page = folder / f"{assignment}.html"
        if r.status == "graded" and page.is_file():
            continue
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


# ----------------------------------------------------------------- the batch

def _time_left(elapsed, done, count):
    """', about 3 min left' at the pace so far; nothing once the batch is done."""
    if done >= count:
        return ""
    seconds = elapsed / done * (count - done)
    shown = f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"
    return f", about {shown} left"


def progress_bar(done, count, width=20):
    """'[#####...............]  25%' for ``done`` of ``count``."""
    filled = round(width * done / count) if count else width
    return f"[{'#' * filled}{'.' * (width - filled)}] {100 * done / count if count else 100:3.0f}%"


UNSAFE_FLAG = "--unsafe-no-sandbox"


def default_jobs():
    """Grading slots side by side: one more than the cores this process may use. A slot
    waits while its student's kernel runs a cell, and the kernel waits while the slot
    decides a test cell, so one slot per core leaves the cores idle part of the time
    (docs/benchmarks.md: a term on 2 cores in 22.5 minutes with 3 slots, 27.9 with 2)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return max(1, cores) + 1


def grade_class(repo, assignment, submissions, workdir, cell_timeout=None,
                submission_timeout=timeouts.SUBMISSION, out=print, sandbox=True, db_url=None,
                jobs=None, run_demonstrations=False, roster=None):
    """Grade every submission; write grades.csv, integrity.csv and feedback; return the Results.

    Student code runs in a bubblewrap sandbox; without one this refuses to run
    (SandboxUnavailable) unless ``sandbox`` is False, the instructor's explicit choice,
    which also grades one student at a time. ``db_url`` is the gradebook (default SQLite
    in ``workdir``); ``jobs`` the students graded side by side (default: one more than the cores);
    ``run_demonstrations`` runs the demonstration cells too (see prepare_course);
    ``roster`` ({id: names and email}, coursetools.grade.batch.roster) names the students in the
    gradebook and gives everyone on it a row of grades.csv.
    """
    if jobs is not None and jobs < 1:
        raise ValueError(f"--jobs must be at least 1, not {jobs}")
    out = plain.printable_lines(out)      # reasons and notes quote what students wrote
    if sandbox:
        try:
            check_available()
        except SandboxUnavailable as exc:
            raise SandboxUnavailable(
                f"{exc}. Without a sandbox student code would run with your rights: it "
                "could read other submissions and the gradebook and use the network. Pass "
                f"{UNSAFE_FLAG} to grade anyway on a machine and account you are willing "
                "to expose.") from None
        jobs = jobs or default_jobs()
    else:
        out(f"WARNING ({UNSAFE_FLAG}): student code runs without a sandbox, with your rights.")
        jobs = 1
    Path(workdir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        found = collect(submissions, assignment, scratch)
        if not found:
            raise ValueError(f"no submissions found in {submissions}: expected <student>.ipynb "
                             "files, or one folder per student holding a notebook")
        with gradebook.folder_lock(workdir):
            course = prepare_course(repo, assignment, workdir, cell_timeout, sandbox, db_url,
                                    run_demonstrations)
            course.submission_timeout = submission_timeout
            course.roster = dict(roster or {})
            if not sandbox:
                course.integrity = Integrity(repo, course.workdir)
            results = _grade_all(course, found, jobs, out)
            _report(course, results, out)
    return results


def _grade_all(course, found, jobs, out):
    """Grade ``found`` (student -> notebook) in ``jobs`` slots; Results in ``found``'s order."""
    cell_max, total = gradebook.max_scores(course.db_url, course.assignment)
    out(f"Grading {len(found)} submission(s) of {course.assignment} ({total:g} points) in "
        f"{course.workdir}, {jobs} at a time")
    gradebook.add_students(course.db_url, list(found), course.roster)
    todo = queue.SimpleQueue()
    for item in found.items():
        todo.put(item)
    done, lock, started = {}, threading.Lock(), time.monotonic()

    def work(number):
        slot = slots.Slot(number, course.workdir, course.secret, course.settings)
        try:
            while True:
                try:
                    student, notebook = todo.get_nowait()
                except queue.Empty:
                    return
                r = grade_one(course, student, notebook, slot)
                r.max_score = total
                if r.status == "graded":
                    _feedback(course, r, slot)
                with lock:
                    done[student] = r
                    shown = f"{r.score:g}/{total:g}" if r.status == "graded" else \
                        f"FAILED: {r.reason}"
                    left = _time_left(time.monotonic() - started, len(done), len(found))
                    out(f"{progress_bar(len(done), len(found))} [{len(done)}/{len(found)}] "
                        f"{student}: {shown} ({r.seconds:.1f} s){left}")
        finally:
            slot.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(min(jobs, len(found)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results = [done[s] for s in found]
    write_failure_pages(course.workdir, course.assignment, results)
    everyone, cell_max = record.whole_class(course.workdir, course.assignment, course.db_url,
                                            results, Result, course.roster)
    record.write(course.workdir, everyone, cell_max)
    solution = course.repo / "solutions" / course.assignment / f"{course.assignment}.ipynb"
    _, answers = report.read_graded(solution)
    report.write(course.workdir, course.assignment, everyone, cell_max,
                 {name: answers[name] for name in CURRICULUM.get(course.assignment, ())
                  if name in answers})
    return results


def _report(course, results, out):
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
    out(f"Grades (the whole class, every batch in this folder): "
        f"{course.workdir / record.GRADES}")
    out(f"Class report (what the checks diagnosed): {course.workdir / report.HTML}")
    out(f"Feedback: {course.workdir / 'feedback'}/<student>/{course.assignment}/"
        f"{course.assignment}.html")
