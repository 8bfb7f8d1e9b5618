"""Test cells run the way `course grade` runs them: here, against a student process.

``student_process(namespace)`` forks a child of this process that holds
``namespace`` (the student's names) and answers requests as a kernel does.
"""
import contextlib
import os
import signal
import socket

from coursetools.grade.protocol import kernel_side, remote


@contextlib.contextmanager
def student_process(namespace, deadline=60):
    """A Connection to a forked child answering with ``namespace``; the child ends after."""
    ours, theirs = socket.socketpair()
    pid = os.fork()
    if pid == 0:       # the student's side
        code = 0
        try:
            ours.close()
            signal.signal(signal.SIGINT, signal.default_int_handler)
            kernel_side.serve_socket(theirs, namespace)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    theirs.close()
    connection = remote.Connection(ours, lambda: os.kill(pid, signal.SIGINT), deadline)
    try:
        yield connection
    finally:
        connection.close()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def cell_passes(source, connection):
    """Run a test cell against ``connection`` -> (True when no output is an error, outputs)."""
    outputs = remote.run_test_cell(source, connection)
    return not any(o["output_type"] == "error" for o in outputs), outputs


def parts_failing(namespace, call, parts, deadline=60):
    """The ``parts`` whose check ``call`` (a test cell's line, ``{part}`` in it) fails with
    ``namespace`` in a student process of its own, as course grade runs it."""
    failed = set()
    with student_process(namespace, deadline) as connection:
        for part in parts:
            ok, _ = cell_passes("from nnlib import grading\n" + call.format(part=repr(part)),
                                connection)
            if not ok:
                failed.add(part)
    return failed
