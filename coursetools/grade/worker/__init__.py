"""A grading slot: nbgrader's autograde and feedback for one student at a time.

The student's cells run in a sandboxed kernel (``coursetools.grade.sandbox``); the test
cells run here, against that kernel (``coursetools.grade.protocol.remote``), so the
verdict is decided where no student code has run.
"""
