"""Every time limit of `course grade`, in seconds, in one place.

A student's code meets three of them: each cell's limit (``limits``: ``CELL_FACTOR`` times
the solution's own time for that cell, measured at the start of each batch, and never
under ``CELL_FLOOR``), the whole submission's (``SUBMISSION``, `course grade
--submission-timeout`), and nnlib's limit on one call a check makes
(``nnlib.grading.core.CALL_TIME_LIMIT``). nbclient applies a cell's limit through its
public ``timeout_func`` (``worker.execute``). The others bound the grader's own steps, so
that a kernel or a process that stops answering costs one student, never the class.
"""

#: one student's notebook, autograded in a slot; past it the slot is killed and replaced
SUBMISSION = 900
#: generating the assignment, or one student's feedback pages
COURSE_STEP = 600
#: each cell of the solution notebook while it is graded to time its cells
CALIBRATION_CELL = 600

#: a cell may run this many times as long as the solution's same cell did...
CELL_FACTOR = 20
#: ...and never less than this; a cell the solution lacks gets exactly this
CELL_FLOOR = 5

#: a test cell: for the kernel to start answering the grader's requests
TEST_ACCEPT = 30
#: a test cell: for the kernel to finish answering once the grader is done
TEST_SETTLE = 10
#: after an interrupt, for the kernel to answer again before it is restarted
INTERRUPT_GRACE = 5

#: the slot's kernel maker (sandbox/zygote.py): to import everything and say it is ready
MAKER_READY = 60
#: ...and any other answer of the maker's (a kernel started, a sweep done)
MAKER_ANSWER = 20
#: the check that bubblewrap can make a sandbox here, before a batch
SANDBOX_CHECK = 60
#: a SQLite gradebook: how long a writer waits for another one to finish
SQLITE_WAIT = 60
