"""`course grade`'s engine, one folder per place its code runs (CONTRIBUTING has the map):

- ``batch``: the `course grade` process. It finds the submissions, builds the chapter's
  copy of nnlib, hands students to the slots, and writes the class's record and report.
  No student code runs there.
- ``worker``: a grading slot, one more than the cores. It runs nbgrader's autograde and feedback for
  one student at a time and decides each test cell there. No student code runs there.
- ``sandbox``: the bubblewrap sandbox, its control group, and the kernel maker inside it
  that forks each student's kernel.
- ``protocol``: what crosses between a slot and a student's kernel: one codec (``wire``),
  one framing (``framing``), the grader's side (``remote``) and the kernel's
  (``kernel_side``).

``gradebook``, ``limits`` and ``demonstrations`` are read by the batch and the slots alike.
The checks and the check-writer's toolkit stay in ``nnlib.grading``; nothing there imports
this package.
"""
