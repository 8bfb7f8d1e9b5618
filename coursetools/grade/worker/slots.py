"""Grading slots: processes that each run nbgrader's autograde for one student at a time.

A slot is forked from a server that has nbgrader and the checks imported already, and
it keeps them (and its sandbox's preloaded kernel maker, see ``grade/sandbox/zygote.py``)
from one student to the next; no student code ever runs in it. The batch keeps one slot
more than the cores busy. A student whose grading runs past its time limit, or a slot that
dies, costs that student the grade: the slot and everything it started are killed and a
fresh slot takes the next student.
"""
import logging
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback

import psutil

from coursetools.grade import gradebook
from coursetools.grade.sandbox import cgroup
from coursetools.grade.sandbox.bubblewrap import unmount_all_under

from nnlib.grading import core
PRELOAD = ["nbgrader.apps.autogradeapp", "nbgrader.apps.nbgraderapp",
           "coursetools.grade.batch.autograde", "coursetools.grade.worker.execute",
           "coursetools.grade.worker.feedback", "nnlib.grading", "nnlib.datasets"]


def _context():
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


class Slot:
    """One grading process; ``run`` hands it nbgrader arguments and waits for the exit code.

    ``settings`` (a traitlets Config, coursetools.grade.batch.settings) is applied over
    every configuration file nbgrader reads, for every command the slot runs.
    """

    def __init__(self, number, cwd, secret=None, settings=None):
        self.number, self.cwd, self.secret = number, str(cwd), secret
        self.settings = settings
        self.process = self.connection = self.folder = None

    def _start(self):
        ours, theirs = _context().Pipe()
        self.folder = tempfile.mkdtemp(prefix=f"course-slot{self.number}-")
        os.chmod(self.folder, 0o755)
        self.process = _context().Process(target=_serve, daemon=True,
                                          args=(theirs, self.cwd, self.secret, self.folder,
                                                self.settings))
        self.process.start()
        theirs.close()
        self.connection = ours

    def run(self, args, log_path, timeout):
        """nbgrader ``args`` with output into ``log_path``: the exit code, or a Stopped
        that says why there is none (past ``timeout`` seconds, or the slot died); the
        slot is then replaced."""
        if self.process is None or not self.process.is_alive():
            self._start()
        try:
            self.connection.send((list(args), str(log_path)))
            deadline = time.monotonic() + timeout
            while not self.connection.poll(0.2):
                if not self.process.is_alive():
                    raise EOFError
                if time.monotonic() > deadline:
                    self.close(now=True)
                    return Stopped(f"grading took longer than {timeout:g} s and was stopped")
            return self.connection.recv()
        except (EOFError, OSError):
            self.process.join(1)
            why = _death(self.process.exitcode)
            self.close(now=True)
            return Stopped(f"the grading process crashed ({why}) while grading it")

    def close(self, now=False):
        """Stop the slot and every process it started (its sandboxes too); ``now`` kills
        it without asking it to finish first."""
        if self.process is None:
            return
        family = _descendants(self.process.pid)
        try:
            if not now:
                self.connection.send(None)
                self.process.join(5)
        except (OSError, ValueError):
            pass
        for process in family + [self.process]:
            _kill(process)
        self.process.join()
        self.connection.close()
        # what a killed slot could not remove itself: its sandbox's tmpfs, groups and scratch
        unmount_all_under(self.folder)
        cgroup.remove_made_by(self.process.pid)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.process = self.connection = self.folder = None


class Stopped(str):
    """Why a slot gave no exit code: it ran out of time, or it crashed."""


def _death(exitcode):
    if exitcode is None:
        return "it closed its connection"
    if exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


def run_once(args, cwd, log_path, timeout):
    """One nbgrader command in a slot of its own: the exit code, or a Stopped."""
    slot = Slot(0, cwd)
    try:
        return slot.run(args, log_path, timeout)
    finally:
        slot.close()


def _descendants(pid):
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _kill(process):
    try:
        process.kill()
    except (psutil.Error, OSError, AttributeError):
        pass


def _serve(connection, cwd, secret, folder, settings):
    """The slot's loop: one nbgrader command per message, until None. ``folder`` holds
    the slot's sandbox (see coursetools.grade.worker.kernels.kernel_maker)."""
    os.setsid()
    os.chdir(cwd)
    from coursetools.grade.worker import kernels
    kernels.SLOT_FOLDER[:] = [folder]
    os.environ.setdefault("NBFORMAT_VALIDATOR", "fastjsonschema")   # nbformat's faster one
    core.use_grading_secret(secret)
    gradebook.share_engines()
    _check_schemas_once()
    _quiet_logs()
    while True:
        job = connection.recv()
        if job is None:
            break
        args, log_path = job
        connection.send(_nbgrader(args, log_path, settings))
    from coursetools.grade.worker.kernels import close_kernel_makers
    close_kernel_makers()


class _ExpectedNotices(logging.Filter):
    """nbgrader's notice that a test cell's checksum changed: every honest notebook's test
    cells differ from the source's, whose hidden tests were taken out of the release (and
    the cells are restored from the source anyway; an edit a student made is in the
    integrity report)."""

    def filter(self, record):
        return not record.getMessage().startswith("Attribute 'checksum' for cell")


def _quiet_logs():
    """Keep each student's log to what is worth reading: SQLAlchemy's warnings about
    nbgrader's sessions go (nbgrader's expected notices go in ``_nbgrader``)."""
    import warnings
    warnings.filterwarnings("ignore", message=r"Object of type <\w+> not in session")


class _SchemaChecks:
    """nbgrader's use of ``jsonschema.validate`` for each cell's metadata, which checks the
    schema itself on every call (most of a millisecond a cell): here each schema object is
    checked once, and the same errors are raised for the metadata."""

    def __init__(self):
        import jsonschema
        self.jsonschema, self.validators = jsonschema, {}

    def validate(self, instance, schema):
        key = id(schema)
        if key not in self.validators or self.validators[key][0] is not schema:
            if len(self.validators) > 16:          # nbgrader reads its schemas anew per run
                self.validators.clear()
            cls = self.jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            self.validators[key] = (schema, cls(schema))
        self.validators[key][1].validate(instance)

    def __getattr__(self, name):
        return getattr(self.jsonschema, name)


def _check_schemas_once():
    from nbgrader.nbgraderformat import common
    common.jsonschema = _SchemaChecks()


def _nbgrader(args, log_path, settings=None):
    """Run one nbgrader command in this process, its output into ``log_path``; ``settings``
    (a traitlets Config) over what nbgrader's configuration files say."""
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    apps = _nbgrader_apps()
    for app_class in apps:        # nbgrader's apps are singletons: a fresh one per command
        app_class.clear_instance()
    from jupyter_core.application import NoStart
    from jupyter_core.utils import ensure_event_loop
    ensure_event_loop()
    try:
        app = apps[0].instance()
        app.initialize(args)
        for part in (app, getattr(app, "subapp", None)):
            if settings is not None and part is not None:
                part.update_config(settings)
        for part in (app, getattr(app, "subapp", None)):   # the subcommand logs on its own
            for handler in getattr(getattr(part, "log", None), "handlers", []):
                handler.addFilter(_ExpectedNotices())
        app.start()
        code = 0
    except NoStart:          # how jupyter's apps say that the subcommand has finished
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def _nbgrader_apps():
    """nbgrader's command-line app and the app of each of its subcommands."""
    from nbgrader.apps.nbgraderapp import NbGraderApp
    from traitlets.utils.importstring import import_item
    subapps = [sub for sub, _ in NbGraderApp.subcommands.values()]
    return [NbGraderApp] + [import_item(s) if isinstance(s, str) else s for s in subapps]
