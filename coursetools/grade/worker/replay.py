"""A kernel that stopped answering, replaced by a fresh one that has run the notebook again.

A cell past its time limit is interrupted (nbgrader's ``interrupt_on_timeout``). Most
loops stop there, and grading goes on. A loop deep in one long numpy call, or one that
ignores SIGINT, keeps the kernel busy, and a kernel that died (``os._exit``, its memory
limit) answers nothing at all. Either way the executor (coursetools.grade.worker.execute) restarts
the kernel and runs again, output discarded, every code cell the old kernel had run,
except those that ran past their limit; later cells then run on a kernel in the same
state, so one endless loop costs only the functions it breaks.

A replayed cell gets its own time limit. A replay that runs past one, or a notebook
that needs more than MAX_RESTARTS restarts, stops the kernel for the rest of the
notebook, as before.
"""
import copy
import time
from queue import Empty

from jupyter_core.utils import run_sync

from coursetools.grade import timeouts

#: seconds an interrupted kernel has to answer again before it is restarted
#: restarts one notebook may cost (each replays the notebook so far)
MAX_RESTARTS = 3
#: the error nbgrader's Execute writes into a cell past its time limit (error_on_timeout)
TIMED_OUT = "CellTimeoutError"


def timed_out(cell):
    """Whether ``cell`` ran past its time limit (nbgrader wrote its timeout error)."""
    return any(o.get("output_type") == "error" and o.get("ename") == TIMED_OUT
               for o in cell.get("outputs", []))


def out_of_time_message(seconds, restarted):
    """What a cell past its limit shows in the graded notebook and the feedback."""
    what = (f"this cell ran past its time limit of {seconds:g} s and was stopped (an endless "
            "loop, or a very slow one?)")
    if restarted:
        what += ("; it did not stop when interrupted, so the kernel was restarted and ran the "
                 "cells before this one again")
    return what


class Replay:
    """The code cells a notebook's kernel has run, and the restart that runs them again."""

    def __init__(self):
        self.ran = []          # (index, a copy of the cell), in the order they ran
        self.restarts = 0

    def record(self, cell, index):
        """``cell`` (at ``index``) ran in the kernel and finished within its limit."""
        self.ran.append((index, copy.deepcopy(cell)))

    def answers(self, kc, grace=timeouts.INTERRUPT_GRACE):
        """Whether the kernel behind client ``kc`` answers a kernel_info request on its
        shell channel within ``grace`` seconds (it does not while a cell still runs)."""
        return run_sync(_answers)(kc, grace)

    def restart(self, executor, resources):
        """Stop ``executor``'s kernel, start a new one and run the recorded cells on it;
        None when that worked, else why it did not."""
        if self.restarts >= MAX_RESTARTS:
            return f"it had to be restarted more than {MAX_RESTARTS} times"
        self.restarts += 1
        if executor.kc is not None:
            executor.kc.stop_channels()
        try:     # jupyter_client's restart: the same connection file, provisioner and folder
            run_sync(executor.km.restart_kernel)(now=True)
            run_sync(executor.async_start_new_kernel_client)()
        except Exception as exc:      # noqa: BLE001
            return f"a new kernel did not start ({type(exc).__name__}: {exc})"[:300]
        for index, cell in self.ran:
            again = copy.deepcopy(cell)
            again.outputs = []
            try:
                executor.replay_cell(again, resources, index)
            except Exception as exc:    # noqa: BLE001  the replay's kernel died
                return f"the replay of cell {index} failed ({type(exc).__name__})"
            if timed_out(again):
                return f"the replay of cell {index} ran past its time limit"
        return None


async def _answers(kc, grace):
    asked = kc.kernel_info()
    end = time.monotonic() + grace
    while (left := end - time.monotonic()) > 0:
        try:
            reply = await kc.shell_channel.get_msg(timeout=left)
        except Empty:
            return False
        if reply.get("parent_header", {}).get("msg_id") == asked:
            return True
    return False
