"""Unit tests of `course grade`'s engine: the kernel maker, time limits, the gradebook's
URL and lock, the progress line."""
import ast

import nbformat
import pytest
from nbclient import NotebookClient

from coursetools.grade import gradebook, limits, timeouts
from coursetools.grade.batch import autograde
from coursetools.grade.sandbox.bubblewrap import Limits
from coursetools.grade.worker.execute import _empty
from coursetools.grade.worker.kernels import (SandboxedKernelManager, close_kernel_makers,
                                             kernel_maker)


#: a cell that leaves System V shared memory (with data in it), a semaphore set and a
#: message queue behind: the slot's IPC namespace outlives each student's kernel
SYSV_IPC_LEFT_BEHIND = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
segment = libc.shmget(0, 2 ** 20, 0o1600)
ctypes.memset(libc.shmat(segment, None, 0), 7, 2 ** 20)
made = [segment >= 0, libc.semget(0, 1, 0o1600) >= 0, libc.msgget(0, 0o1600) >= 0]
print('made', sum(made))
"""


def _run_in_fresh_kernel(maker, sources):
    """Run ``sources`` as cells in a kernel the maker forks; their printed text, in order."""
    _empty(maker.scratch)
    work = maker.scratch / "work"
    work.mkdir()
    maker.sandbox.prepare()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    km = SandboxedKernelManager(kernel_maker=maker).use_folder(work)
    NotebookClient(nb, km=km, timeout=60, resources={"metadata": {"path": str(work)}}).execute()
    maker.sweep()
    return ["".join(o.get("text", "") for o in cell.outputs) for cell in nb.cells]


def test_each_notebook_gets_a_fresh_kernel_that_finds_nothing_of_the_one_before():
    """The first notebook leaves a process, files in /tmp, /dev/shm, its folder and home,
    and changes a module; the next kernel the maker forks sees none of it, and neither
    can read the maker's memory or its pipes."""
    maker = kernel_maker(slot=7, limits=Limits())
    try:
        first = _run_in_fresh_kernel(maker, [
            "import subprocess, os, numpy\n"
            "subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
            "for path in ['/tmp/left', 'left', os.path.expanduser('~/left'), '/dev/shm/left']:\n"
            "    try:\n"
            "        open(path, 'w').write('x')\n"
            "    except OSError:\n"
            "        pass     # /dev/shm is not writable in the sandbox: fine too\n"
            "os.makedirs('/tmp/locked/deeper'); os.chmod('/tmp/locked', 0)\n"
            "numpy.pi = 3\n"
            "print(os.getpid() > 1)",
            SYSV_IPC_LEFT_BEHIND,
            "import os\n"
            "for what in ('mem', 'environ'):\n"
            "    try:\n"
            "        open(f'/proc/{os.getppid()}/{what}', 'rb').read(1); print('read', what)\n"
            "    except OSError:\n"
            "        print('refused', what)\n"
            "try:\n"
            "    print(os.listdir(f'/proc/{os.getppid()}/fd'))\n"
            "except OSError:\n"
            "    print('refused fd')",
        ])
        assert first == ["True\n", "made 3\n",
                         "refused mem\nrefused environ\nrefused fd\n"]
        second = _run_in_fresh_kernel(maker, [
            "import os, numpy\n"
            "mine = {os.getpid(), os.getppid(), 1}\n"
            "print(repr(([p for p in os.listdir('/proc') if p.isdigit() and int(p) not in mine],\n"
            "            {'left', 'locked'} & set(os.listdir('/tmp')), os.path.exists('/dev/shm/left'),\n"
            "            'left' in os.listdir(),\n"
            "            os.path.exists(os.path.expanduser('~/left')), numpy.pi > 3.1,\n"
            "            [len(open(f'/proc/sysvipc/{t}').read().splitlines()) - 1\n"
            "             for t in ('shm', 'sem', 'msg')])))",
        ])
        assert ast.literal_eval(second[0]) == ([], set(), False, False, False, True, [0, 0, 0])
    finally:
        close_kernel_makers()


def test_cell_limits_are_a_multiple_of_the_reference_with_a_floor():
    made, other = limits.from_times({"dense": 0.01, "test_dense": 2.0, "source:ab": 0.3})
    assert made == {"dense": timeouts.CELL_FLOOR, "test_dense": 40, "source:ab": 6}
    assert other == timeouts.CELL_FLOOR       # a cell the solution lacks is never graded
    graded = nbformat.v4.new_code_cell("x = 1")
    graded.metadata["nbgrader"] = {"grade_id": "dense"}
    lecture = nbformat.v4.new_code_cell("x = 1\n")
    assert limits.cell_key(graded) == "dense"
    assert limits.cell_key(lecture) == limits.cell_key(nbformat.v4.new_code_cell("  x = 1"))
    assert limits.cell_key(lecture) != limits.cell_key(nbformat.v4.new_code_cell("x = 2"))


def test_database_urls_are_checked_and_completed():
    url = gradebook.checked_url("sqlite:////tmp/g.db")
    assert url.startswith("sqlite:////tmp/g.db?") and "timeout=60" in url
    assert gradebook.sqlite_file(url).name == "g.db"
    assert gradebook.checked_url("postgresql://grader@host/course").startswith(
        "postgresql+psycopg://grader@host/course")
    assert gradebook.sqlite_file("postgresql+psycopg://h/c") is None
    with pytest.raises(ValueError, match="is not a database URL"):
        gradebook.checked_url("gradebook.db")


def test_a_grading_folder_takes_one_course_grade_at_a_time(tmp_path):
    with gradebook.folder_lock(tmp_path):
        with pytest.raises(RuntimeError, match="another `course grade` is grading in"):
            with gradebook.folder_lock(tmp_path):
                pass
    with gradebook.folder_lock(tmp_path):      # free again
        pass


def test_progress_bar():
    assert autograde.progress_bar(0, 4) == "[....................]   0%"
    assert autograde.progress_bar(1, 4) == "[#####...............]  25%"
    assert autograde.progress_bar(4, 4) == "[####################] 100%"


def test_jobs_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="--jobs"):
        autograde.grade_class(tmp_path, "01_dot_product", tmp_path, tmp_path / "c", jobs=0)


AGGREGATE = """
import subprocess, sys
hog = ("import time\\nblock = b'x' * (700 * 2 ** 20)\\ntime.sleep(4)\\nprint('survived')")
children = [subprocess.Popen([sys.executable, '-c', hog], stdout=subprocess.PIPE, text=True)
            for _ in range(3)]
print('survived:', sum(child.communicate()[0].strip() == 'survived' for child in children))
"""
DISK = """
import os
written = 0
try:
    for n in range(8):
        with open(f'big{n}', 'wb') as f:
            for _ in range(100):
                f.write(b'x' * 2 ** 20)
                written += 1
except OSError as error:
    print('refused', error.errno)
print('MB written:', written)
"""


def test_memory_and_disk_are_counted_for_the_whole_sandbox():
    """Three processes of 700 MB each fit each process's limit but not the sandbox's 1.5 GB
    (at most one keeps its memory), and files of 100 MB each fit the file size limit but
    not the scratch folder's 300 MB: the limits hold for all of a student's processes and
    files together, and go with the sandbox."""
    import os

    from coursetools.grade.sandbox import cgroup
    probe = cgroup.make(2 ** 30, 64)
    if probe is None:
        message = "no control group can be made here (not root, or hidden by a container)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    probe.remove()
    limits = Limits(total_memory_bytes=1536 * 2 ** 20, scratch_bytes=300 * 2 ** 20)
    maker = kernel_maker(slot=8, limits=limits)
    try:
        group, scratch = maker.sandbox.group, maker.scratch
        assert group is not None and maker.sandbox.mounted
        memory, disk = _run_in_fresh_kernel(maker, [AGGREGATE, DISK])
        assert memory in ("survived: 0\n", "survived: 1\n"), memory
        assert disk.startswith("refused 28\n"), disk          # ENOSPC
        assert 250 <= int(disk.split(":")[-1]) <= 300, disk
        assert group.peak_bytes() <= limits.total_memory_bytes
    finally:
        close_kernel_makers()
    assert not any(folder.exists() for folder in group.folders)
    assert str(scratch) not in open("/proc/self/mountinfo").read()
