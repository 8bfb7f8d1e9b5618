"""What crosses between a grading slot and a student's kernel.

``wire`` is the codec (plain data, budgets on size), ``framing`` the length-prefixed
messages on the socket, ``remote`` the grader's side (proxies of the student's objects)
and ``kernel_side`` the kernel's (it answers requests; it decides nothing).
"""
