"""The executor `course grade` gives nbgrader: student cells in a sandboxed kernel,
test cells here.

Every cell but the tests runs in the student's kernel, inside the sandbox
(``coursetools.grade.sandbox.bubblewrap``). A test cell never runs there: its source of record
(the instructor's, with the hidden tests, read from the gradebook by grade id)
runs in this process, where no student code has run, and asks the kernel for the
student's functions' answers as plain data (``coursetools.grade.protocol.remote``). The
outputs this writes into the cell, and so the score nbgrader records, are
decided here. What the kernel did that a correct notebook does not is written to
the integrity folder, one JSON file per student.
"""
import contextlib
import functools
import json
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import Execute
from traitlets import Bool, Enum, Integer, Unicode

from coursetools.curriculum import graded_name, last_test_id
from coursetools.grade import demonstrations, exam, limits, timeouts
from coursetools.grade.protocol import remote
from coursetools.grade.sandbox.bubblewrap import Limits, Sandbox
from coursetools.grade.sandbox.zygote import MakerGone
from coursetools.grade.worker import replay
from coursetools.grade.worker.kernels import (SandboxedKernelManager, close_kernel_makers,
                                             kernel_maker)

#: how the kernel starts answering for a test cell: nothing of the student's is used
SERVE = ("__import__('coursetools.grade.protocol.kernel_side', fromlist=['serve'])"
         ".serve({path!r}, globals())")
#: what a demonstration cell that was not run shows in the graded notebook and the feedback
NOT_RUN = {kind: {"output_type": "stream", "name": "stdout",
                  "text": f"[not run when grading: {what}, and no later cell needs it]\n"}
           for kind, what in [(demonstrations.DEMONSTRATION, "a demonstration of nnlib's "
                               "own code, the same for everyone"),
                              (demonstrations.TRY_OUT, "it tries out your code without "
                               "grading it")]}


class GradeOutsideKernel(Execute):
    """nbgrader's Execute, with test cells decided in this process (see the module doc)."""

    sandbox = Bool(True, help="run the kernel in a bubblewrap sandbox").tag(config=True)
    slot = Integer(0, help="grading slot: one sandbox user per slot").tag(config=True)
    preloaded = Bool(True, help="fork kernels from the slot's preloaded Python in its sandbox "
                     "(sandbox/zygote.py) instead of starting each anew").tag(config=True)
    memory_limit = Integer(Limits.memory_bytes, help="bytes of address space").tag(config=True)
    integrity_directory = Unicode("", help="where each student's integrity notes go").tag(
        config=True)
    shutdown_kernel = Enum(["graceful", "immediate"], "immediate",
                           help="the kernel is stopped at once: the slot's sweep follows").tag(
        config=True)
    cell_limits = Unicode("", help="a JSON file of time limits per cell (grade/limits.py); "
                          "without one every cell gets Execute.timeout").tag(config=True)
    nnlib_copy = Unicode("", help="the chapter's copy of nnlib the sandbox sees instead of "
                         "nnlib, without the answers it grades (batch/exam.py); without "
                         "one the sandbox sees nnlib itself").tag(config=True)
    timings = Unicode("", help="a JSON file to write each cell's seconds into (cell key -> "
                      "seconds, coursetools.grade.limits): course grade times the solution "
                      "notebook this way").tag(config=True)
    demonstrations = Unicode("", help="a JSON file of the solution's demonstration cells "
                             "(grade/demonstrations.py): those no later cell needs are not "
                             "run; without one every cell runs").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)

    # the notebook --------------------------------------------------------
    def preprocess(self, nb, resources=None, km=None):
        self.tests = _tests_of_record(resources["nbgrader"])
        self.unlockable = (exam.building_blocks(resources["nbgrader"]["assignment"])
                           if self.sandbox and self.nnlib_copy else set())
        self.limits = limits.read(self.cell_limits)[0] if self.cell_limits else {}
        self.timeout_func = self._cell_limit
        self.skipped = (demonstrations.skippable(nb.cells, demonstrations.read(self.demonstrations),
                                                 self.tests, self.skip_cells_with_tag)
                        if self.demonstrations else {})
        self.notes, self.stopped, self.seconds = [], "", {}
        self.replay = replay.Replay()
        self._maker = self._kernel_maker()
        if self._maker is not None:
            self.scratch = self._maker.scratch
            self.handover = self._maker.sandbox.handover
            _empty(self.scratch)
            _empty(self.handover)
        else:
            self.scratch = Path(tempfile.mkdtemp(prefix="course-kernel-"))
            os.chmod(self.scratch, 0o755)
            self.handover = self.scratch / "grader"
            self.handover.mkdir(mode=0o755)
        try:
            work = self.scratch / "work"
            _copy_submission_files(resources.get("metadata", {}).get("path"), work)
            if self._maker is not None:
                self._sandbox = None
                self._maker.sandbox.prepare()
            else:
                self._sandbox = (Sandbox(work, self.slot, self._limits(),
                                         handover=self.handover,
                                         nnlib_copy=self.nnlib_copy or None).prepare()
                                 if self.sandbox else None)
            resources = dict(resources, metadata=dict(resources.get("metadata", {}),
                                                      path=str(work)))
            nb, resources = super().preprocess(nb, resources, km)
        finally:
            self._clean_up()
            self._write_notes(resources)
            if self.timings:
                Path(self.timings).write_text(json.dumps(self.seconds), encoding="utf-8")
        return nb, resources

    def _limits(self):
        return Limits(memory_bytes=self.memory_limit)

    def _kernel_maker(self):
        if not (self.sandbox and self.preloaded):
            return None
        try:
            return kernel_maker(self.slot, self._limits(), self.nnlib_copy or None)
        except (MakerGone, OSError) as exc:      # grade on with a kernel started the slow way
            self.log.warning("no preloaded kernel maker (%s): starting the kernel anew", exc)
            return None

    def _clean_up(self):
        if self._maker is None:
            if self._sandbox is not None:
                self._sandbox.close()
            shutil.rmtree(self.scratch, ignore_errors=True)
            return
        try:
            self._maker.sweep()
        except MakerGone:
            self._note(None, "the sandbox's kernel maker was gone after this notebook")
            close_kernel_makers()
        _empty(self.scratch)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        km.sandbox = self._sandbox
        km.kernel_maker = self._maker
        return km.use_folder(self.scratch / "work", self.handover)

    def _cell_limit(self, cell):
        """nbclient's timeout_func: the cell's own limit (coursetools.grade.limits), else the
        notebook's."""
        return self.limits.get(limits.cell_key(cell), self.timeout)

    def preprocess_cell(self, cell, resources, index):
        started = time.perf_counter()
        try:
            return self._run_cell(cell, resources, index)
        finally:
            if cell.cell_type == "code" and index not in self.skipped:
                self.seconds[limits.cell_key(cell)] = time.perf_counter() - started

    def _run_cell(self, cell, resources, index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code" and grade_id in self.tests:
            cell.outputs = [nbformat.from_dict(o) for o in self._test(grade_id, index)]
            cell.execution_count = None
            return cell, self.resources
        if index in self.skipped:
            cell.outputs = [nbformat.from_dict(NOT_RUN[self.skipped[index]])]
            cell.execution_count = None
            return cell, self.resources
        if cell.cell_type == "code" and self.stopped:
            cell.outputs = [nbformat.from_dict(o) for o in _failed(
                f"not run: the notebook's kernel had stopped ({self.stopped})")]
            return cell, self.resources
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
            out_of_time = cell.cell_type == "code" and replay.timed_out(cell)
        except CellTimeoutError:   # the reply came (nbgrader's), the kernel's last output not
            out_of_time, resources = True, self.resources
        except DeadKernelError:
            self._note(grade_id, f"the kernel died while running cell {index}")
            cell.outputs.append(nbformat.from_dict(_failed(
                "the notebook's kernel died here; a new one ran the cells before this one "
                "again")[0]))
            self._restart(f"it died while running cell {index}")
            return cell, self.resources
        if cell.cell_type != "code":
            return cell, resources
        if out_of_time:
            restarted = not self.replay.answers(self.kc)
            cell.outputs = [o for o in cell.outputs if o.get("ename") != replay.TIMED_OUT]
            cell.outputs.append(nbformat.from_dict(_failed(
                replay.out_of_time_message(self._cell_limit(cell), restarted))[0]))
            if restarted:
                self._restart(f"cell {index} ran past its time limit and ignored the interrupt")
            return cell, resources
        self.replay.record(cell, index)
        if grade_id is None:   # a demonstration, not an answer
            cell.outputs = [_note_if_stub(o) for o in cell.outputs]
        return cell, resources

    def replay_cell(self, cell, resources, index):
        """Run ``cell`` on a restarted kernel (replay.py), as nbgrader would."""
        return super().preprocess_cell(cell, resources, index)

    def _restart(self, why):
        """A new kernel that has run the notebook so far again (replay.py), or,
        where that fails, no kernel for the rest of the notebook."""
        failed = self.replay.restart(self, self.resources)
        if failed:
            self.stopped = f"{why}, and {failed}"
            self._note(None, f"the kernel was stopped: {self.stopped}")

    # a test cell ---------------------------------------------------------
    def _test(self, grade_id, index):
        if not self.stopped and self.km and not (self.km.has_kernel and _alive(self.km)):
            self._note(grade_id, "the kernel had died before this test cell")
            self._restart("it had died before a test cell")
        if self.stopped or not self.km:
            return _failed("the notebook's kernel had stopped before this test could run")
        # in the grader's own folder, which the sandbox sees read-only: nobody can swap
        # the socket for a link before the chmod that lets the kernel connect
        path = self.handover / f"grader-{index}.sock"
        path.unlink(missing_ok=True)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
            listener.bind(str(path))
            os.chmod(path, 0o666)
            listener.listen(1)
            listener.settimeout(min(timeouts.TEST_ACCEPT, self.timeout or timeouts.TEST_ACCEPT))
            msg_id = self.kc.execute(SERVE.format(path=str(path)), store_history=False,
                                     allow_stdin=False, stop_on_error=False)
            try:
                sock, _ = listener.accept()
            except socket.timeout:
                self._note(grade_id, "the kernel did not answer the grader")
                self._settle(msg_id)
                return _failed("the notebook did not answer the grader (is it still running "
                               "an earlier cell?)")
        connection = remote.Connection(sock, self._interrupt,
                                       deadline=self.limits.get(grade_id, self.timeout or 120))
        try:
            outputs = remote.run_test_cell(self.tests[grade_id], connection)
            self._unlock(grade_id, connection)
        finally:
            connection.close()
            for note in connection.notes:
                self._note(grade_id, note)
        self._settle(msg_id)
        return outputs

    def _unlock(self, grade_id, connection):
        """Once a building block's (last) test cell is decided (test_<name>), its code joins the
        kernel's copy of nnlib: what builds on it then runs without asking the grader for
        every call (coursetools.grade.exam). A kernel that refuses only keeps asking."""
        name = graded_name(grade_id)
        if name in self.unlockable and grade_id == last_test_id(name):
            with contextlib.suppress(Exception):
                connection.unlock(name)

    def _interrupt(self):
        run_sync(self.km.interrupt_kernel)()

    def _settle(self, msg_id):
        """Wait until the kernel has finished answering; restart it if it does not (a call
        past its time limit that ignored the interrupt, or a kernel that died)."""
        saved, self.timeout = self.timeout, timeouts.TEST_SETTLE
        try:
            reply = self.wait_for_reply(msg_id)
        except Exception:
            reply = None
        finally:
            self.timeout = saved
        if reply is None:
            self._restart("it kept running after the grader was done")

    def _note(self, grade_id, what):
        self.notes.append({"cell": grade_id or "", "what": what})

    def _write_notes(self, resources):
        if not self.integrity_directory:
            return
        folder = Path(self.integrity_directory)
        folder.mkdir(parents=True, exist_ok=True)
        student = resources.get("nbgrader", {}).get("student", "unknown")
        (folder / f"{student}.json").write_text(json.dumps(self.notes), encoding="utf-8")


def _tests_of_record(info):
    """grade id -> the instructor's source of every autograded test cell of this notebook.

    Read once per grading slot (a slot grades one batch of one assignment)."""
    return dict(_read_tests_of_record(info["db_url"], info["assignment"], info["notebook"]))


@functools.lru_cache(maxsize=8)
def _read_tests_of_record(db_url, assignment, notebook_name):
    tests = {}
    with Gradebook(db_url) as gb:
        notebook = gb.find_notebook(notebook_name, assignment)
        for cell in notebook.grade_cells:
            if cell.cell_type != "code":
                continue
            try:
                gb.find_solution_cell(cell.name, notebook_name, assignment)
                continue            # a graded answer, not a test
            except MissingEntry:
                pass
            tests[cell.name] = gb.find_source_cell(cell.name, notebook_name, assignment).source
    return tests


def _empty(folder):
    """Remove everything in ``folder`` (the slot's scratch between two notebooks)."""
    for item in Path(folder).iterdir():
        if item.is_dir() and not item.is_symlink():
            shutil.rmtree(item, ignore_errors=True)
        else:
            item.unlink(missing_ok=True)


def _copy_submission_files(folder, target):
    """Files the student submitted beside the notebook (data they read), without the notebook."""
    target.mkdir(parents=True, exist_ok=True)
    if not folder or not Path(folder).is_dir():
        return
    for item in Path(folder).iterdir():
        if item.is_file() and not item.is_symlink() and item.suffix != ".ipynb":
            shutil.copyfile(item, target / item.name)


def _note_if_stub(output):
    """A demonstration's call of nnlib's answer to the chapter (not there while grading,
    see coursetools.grade.exam) shown as a note, not as an error of the student's."""
    if output.get("output_type") == "error" and exam.is_stub_message(output.get("evalue", "")):
        return nbformat.from_dict({"output_type": "stream", "name": "stdout",
                                   "text": f"[stopped here when grading: {output['evalue']}]\n"})
    return output


def _alive(km):
    try:
        return run_sync(km.is_alive)()
    except Exception:
        return False


def _failed(message):
    return [{"output_type": "error", "ename": "GradingError", "evalue": message,
             "traceback": [f"GradingError: {message}"]}]
