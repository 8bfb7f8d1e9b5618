"""The gradebook of record: nbgrader's database, which formgrader, `nbgrader export` and
the feedback pages read.

SQLite in the grading folder by default; any database URL SQLAlchemy and nbgrader
accept otherwise, such as ``postgresql+psycopg://grader@db.example.org/course`` for a hub
where several graders write at once. Every open goes through ``open_gradebook``, which
waits out the moments when another grader holds a lock or is creating the tables.
"""
import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path

from coursetools.grade import timeouts

COURSE_ID = "nn-from-scratch"  # nbgrader's course id: a server's foreign keys need one
SQLITE_FILE = "gradebook.db"
ATTEMPTS = 8                  # tries at one gradebook step before its error is raised


def default_url(workdir):
    """The SQLite gradebook in the grading folder."""
    return f"sqlite:///{Path(workdir).resolve() / SQLITE_FILE}"


def sqlite_file(url):
    """The file of a SQLite URL (None for a server)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return None
    return Path(url[len(prefix):].split("?", 1)[0])


def checked_url(url):
    """The URL as nbgrader will use it, or ValueError naming what is wrong with it.

    SQLite gets a busy timeout, so grading slots that write at once wait for each other
    instead of failing; a PostgreSQL URL needs psycopg (the course's `postgres` extra).
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(f"{url!r} is not a database URL (e.g. sqlite:///gradebook.db or "
                         "postgresql+psycopg://user@host/dbname)") from None
    if parsed.drivername.startswith("sqlite"):
        if "timeout" not in parsed.query:
            parsed = parsed.update_query_dict({"timeout": str(timeouts.SQLITE_WAIT)})
        return parsed.render_as_string(hide_password=False)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername == "postgresql+psycopg":
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise ValueError("a PostgreSQL gradebook needs psycopg: pip install "
                             "'nnlib[course,postgres]' (or psycopg[binary])") from None
    return parsed.render_as_string(hide_password=False)


def _retrying(step):
    """Run ``step()``; on a lock or a race with another grader (tables, rows made at the
    same moment) wait a little and try again."""
    from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
    for attempt in range(ATTEMPTS):
        try:
            return step()
        except (OperationalError, IntegrityError, DBAPIError):
            if attempt == ATTEMPTS - 1:
                raise
            time.sleep(0.2 * 2 ** attempt)


def share_engines():
    """Let every nbgrader Gradebook this process opens on one URL use one SQLAlchemy engine.

    nbgrader makes a new engine at each opening, and with it an empty cache of compiled
    statements: a fifth of a grading slot's time went to compiling the same queries again
    for every student. An engine outlives ``Gradebook.close`` (its ``dispose`` only empties
    the pool of connections), so one per URL and process is safe, and a forked process
    makes its own.
    """
    import nbgrader.api
    if getattr(nbgrader.api.create_engine, "shared", False):
        return
    make_engine, engines = nbgrader.api.create_engine, {}

    def shared_engine(url, **options):
        key = (os.getpid(), str(url), tuple(sorted(options.items())))
        if key not in engines:
            engines[key] = make_engine(url, **options)
        return engines[key]
    shared_engine.shared = True
    nbgrader.api.create_engine = shared_engine
    _check_tables_once(nbgrader.api)


class _TablesExist:
    """What sqlalchemy.inspect says of an engine whose tables this process has checked."""

    @staticmethod
    def get_table_names():
        return ["(checked)"]


def _check_tables_once(api):
    """Let each opening after the first on an engine skip nbgrader's table check: at every
    opening it lists the database's tables and asks for each of nbgrader's whether it
    exists (about a dozen queries, twice per student in a slot, three times in the batch)."""
    metadata, inspect, checked = api.Base.metadata, api.inspect, set()
    make_tables = metadata.create_all

    def create_tables_once(bind=None, **options):
        if bind not in checked:
            make_tables(bind=bind, **options)
            checked.add(bind)

    def inspect_once(subject, *args, **options):
        return _TablesExist() if subject in checked else inspect(subject, *args, **options)

    metadata.create_all, api.inspect = create_tables_once, inspect_once


@contextmanager
def open_gradebook(url):
    """nbgrader's Gradebook on ``url``, opened even while another grader creates it."""
    from nbgrader.api import Gradebook
    share_engines()
    gb = _retrying(lambda: Gradebook(url, COURSE_ID))
    try:
        yield gb
    finally:
        gb.close()


def add_students(url, students, roster=None):
    """Make sure every student, and everyone on the ``roster`` ({id: {first_name, last_name,
    email}}, batch/roster.py), has a row before slots grade them at once; the roster's
    names and emails are what formgrader shows."""
    roster = roster or {}

    def add():
        with open_gradebook(url) as gb:
            known = {s.id for s in gb.students}
            for student in sorted(set(students) | set(roster)):
                names = {k: v for k, v in roster.get(student, {}).items() if v}
                if names:
                    gb.update_or_create_student(student, **names)
                elif student not in known:
                    gb.add_student(student)
    _retrying(add)


def forget(url, assignment, student):
    """Remove this student's submission of ``assignment`` (none is fine)."""
    from nbgrader.api import MissingEntry

    def remove():
        with open_gradebook(url) as gb:
            try:
                gb.remove_submission(assignment, student)
            except MissingEntry:
                pass
    _retrying(remove)


def remove_student(url, student):
    """Remove ``student`` (none is fine) with whatever they submitted."""
    from nbgrader.api import MissingEntry

    def remove():
        with open_gradebook(url) as gb:
            try:
                gb.remove_student(student)
            except MissingEntry:
                pass
    _retrying(remove)


def _scores(gb, assignment, student):
    """(total, {test cell id: points}) of a graded submission, in two queries (nbgrader's
    objects would load each grade and its cell's name one by one)."""
    from nbgrader.api import BaseCell, Grade, SubmittedNotebook
    submission = gb.find_submission(assignment, student)
    rows = (gb.db.query(BaseCell.name, Grade.score).join(Grade.cell).join(Grade.notebook)
            .filter(SubmittedNotebook.assignment_id == submission.id).all())
    return float(submission.score), {name: float(score) for name, score in rows}


def intact_and_scores(url, assignment, student):
    """(whether the assignment's notebooks are still in the gradebook, the student's
    (total, {test cell id: points}) or None when nbgrader recorded none), in one opening."""
    from nbgrader.api import MissingEntry
    try:
        with open_gradebook(url) as gb:
            if not gb.find_assignment(assignment).notebooks:
                return False, None
            try:
                return True, _scores(gb, assignment, student)
            except MissingEntry:
                return True, None
    except Exception:  # noqa: BLE001  a gradebook that cannot be read is not intact
        return False, None


def max_scores(url, assignment):
    """Test cell id -> max points, in notebook order, and the total."""
    with open_gradebook(url) as gb:
        cells = {}
        for notebook in gb.find_assignment(assignment).notebooks:
            for cell in notebook.grade_cells:
                cells[cell.name] = float(cell.max_score)
    return cells, sum(cells.values())


@contextmanager
def folder_lock(workdir):
    """Hold the grading folder for one `course grade` at a time (RuntimeError if taken)."""
    path = Path(workdir) / ".course-grade.lock"
    handle = open(path, "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise RuntimeError(f"another `course grade` is grading in {workdir}; wait for it, "
                           "or give this one its own folder with --out") from None
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
