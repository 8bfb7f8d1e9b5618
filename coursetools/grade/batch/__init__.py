"""The `course grade` process: submissions in, the class's grades, report and pages out.

It never runs student code: notebooks are read as data (``submissions``, ``tampering``)
and graded in the slots (``coursetools.grade.worker``).
"""
