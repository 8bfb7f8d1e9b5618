"""Where a student's code runs: a bubblewrap sandbox (``bubblewrap``), counted in a control
group of its own (``cgroup``), with a preloaded Python in it that forks each student's
kernel (``zygote``, the kernel maker)."""
