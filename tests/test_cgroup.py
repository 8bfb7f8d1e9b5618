"""grade/sandbox/cgroup.py on both layouts of Linux, with a folder standing in for /sys/fs/cgroup
(the end-to-end test of the limits is in test_grading_engine)."""
import subprocess

from coursetools.grade.sandbox import cgroup


def test_a_v2_group_enables_its_controllers_from_the_root_down(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory hugetlb pids rdma\n")
    (tmp_path / "cgroup.subtree_control").write_text("cpu\n")
    (tmp_path / "course-grade").mkdir()
    (tmp_path / "course-grade" / "cgroup.subtree_control").write_text("")
    group = cgroup.make(3 * 2 ** 30, 96, root=tmp_path)
    [folder] = group.folders
    assert folder.parent == tmp_path / "course-grade"
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+memory +pids"
    assert (tmp_path / "course-grade" / "cgroup.subtree_control").read_text() == "+memory +pids"
    assert (folder / "memory.max").read_text() == str(3 * 2 ** 30)
    assert (folder / "memory.swap.max").read_text() == "0"
    assert (folder / "pids.max").read_text() == "96"


def test_a_v1_group_is_one_folder_in_each_tree(tmp_path):
    for tree in ("memory", "pids", "cpu"):
        (tmp_path / tree).mkdir()
    group = cgroup.make(2 ** 30, 64, root=tmp_path)
    memory, pids = group.folders
    assert memory.parent == tmp_path / "memory" / "course-grade"
    assert (memory / "memory.limit_in_bytes").read_text() == str(2 ** 30)
    assert (memory / "memory.memsw.limit_in_bytes").read_text() == str(2 ** 30)
    assert (pids / "pids.max").read_text() == "64"


def test_no_group_where_the_machine_has_neither_layout(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("cpu io\n")
    assert cgroup.make(2 ** 30, 64, root=tmp_path) is None


def test_the_command_enters_every_folder_before_it_runs(tmp_path):
    folders = [tmp_path / "memory", tmp_path / "pids"]
    for folder in folders:
        folder.mkdir()
    done = subprocess.run(cgroup.Group(folders).enter(["sh", "-c", "echo $$"]),
                          capture_output=True, text=True, check=True)
    pid = done.stdout.strip()            # exec keeps the shell's pid
    assert [(f / "cgroup.procs").read_text().strip() for f in folders] == [pid, pid]
