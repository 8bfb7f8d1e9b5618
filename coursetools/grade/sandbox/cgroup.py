"""A control group per sandbox: memory and tasks counted for everything a student starts.

A process's own limits (``Limits``, set with prlimit) bound each process; a student
who starts three processes gets three times the memory. A control group counts
them together. Where root can make one, each sandbox (a slot's kernel maker and the
kernels it forks, one student at a time) runs in a group of its own with a memory
limit (swap included) and a task limit; when it is full the kernel's out-of-memory
killer stops a process inside it, never one outside.

Both layouts of Linux are understood: cgroup v2 (one tree, ``memory`` and ``pids``
controllers enabled from the root down) and v1 (a ``memory`` and a ``pids`` tree).
Without either (not root, or a container that hides them), ``make`` returns None
and only the per-process limits apply.
"""
import itertools
import os
import shlex
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
_PARENT = "course-grade"           # the groups of every `course grade` on the machine
_numbers = itertools.count()


class Group:
    """One sandbox's group: ``folders`` (one per tree), with its limits written."""

    def __init__(self, folders):
        self.folders = folders

    def enter(self, argv):
        """``argv`` run from inside the group: the shell puts itself in, then execs it."""
        files = " ".join(shlex.quote(str(f / "cgroup.procs")) for f in self.folders)
        script = f'for f in {files}; do echo $$ > "$f" || exit 97; done; exec "$@"'
        return ["sh", "-c", script, "sh", *argv]

    def peak_bytes(self):
        """The most memory the group has used, when the machine says (else None)."""
        for folder in self.folders:
            for name in ("memory.peak", "memory.max_usage_in_bytes"):
                try:
                    return int((folder / name).read_text().split()[0])
                except (OSError, ValueError, IndexError):
                    continue
        return None

    def remove(self):
        """Kill whatever is left inside and remove the group's folders."""
        for folder in self.folders:
            for _ in range(50):
                pids = _read_pids(folder)
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, 9)
                    except OSError:
                        pass
                time.sleep(0.02)
            try:
                folder.rmdir()
            except OSError:
                pass


def remove_made_by(pid, root=ROOT):
    """Remove the groups process ``pid`` made (a grading slot that was killed)."""
    parents = [root / _PARENT, _own_v1_group(root, "memory") / _PARENT,
               _own_v1_group(root, "pids") / _PARENT]
    for parent in parents:
        if parent.is_dir():
            Group(sorted(parent.glob(f"{pid}-*"))).remove()


def _read_pids(folder):
    try:
        return [int(p) for p in (folder / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def make(memory_bytes, tasks, root=ROOT):
    """A new Group limited to ``memory_bytes`` and ``tasks``, or None where none can be made."""
    if os.geteuid() != 0 and root == ROOT:
        return None
    name = f"{os.getpid()}-{next(_numbers)}"
    try:
        if _is_v2(root):
            return _make_v2(root, name, memory_bytes, tasks)
        if (root / "memory").is_dir() and (root / "pids").is_dir():
            return _make_v1(root, name, memory_bytes, tasks)
    except OSError:
        return None
    return None


def _is_v2(root):
    controllers = root / "cgroup.controllers"
    return controllers.is_file() and {"memory", "pids"} <= set(controllers.read_text().split())


def _make_v2(root, name, memory_bytes, tasks):
    parent = root / _PARENT
    _enable(root)                     # the root group may hold processes and enable controllers
    parent.mkdir(exist_ok=True)
    _enable(parent)                   # ours holds none: only the groups below it
    folder = parent / name
    folder.mkdir()
    group = Group([folder])
    try:
        _write(folder / "memory.max", memory_bytes)
        _write(folder / "memory.swap.max", 0, optional=True)
        _write(folder / "pids.max", tasks)
    except OSError:
        group.remove()
        raise
    return group


def _enable(folder):
    wanted = {"memory", "pids"}
    if not wanted <= set((folder / "cgroup.subtree_control").read_text().split()):
        (folder / "cgroup.subtree_control").write_text("+memory +pids")


def _make_v1(root, name, memory_bytes, tasks):
    memory = _own_v1_group(root, "memory") / _PARENT
    pids = _own_v1_group(root, "pids") / _PARENT
    folders = []
    try:
        for parent in (memory, pids):
            parent.mkdir(exist_ok=True)
            (parent / name).mkdir()
            folders.append(parent / name)
        _write(folders[0] / "memory.limit_in_bytes", memory_bytes)
        _write(folders[0] / "memory.memsw.limit_in_bytes", memory_bytes, optional=True)
        _write(folders[1] / "pids.max", tasks)
    except OSError:
        Group(folders).remove()
        raise
    return Group(folders)


def _own_v1_group(root, tree):
    """This process's group in a v1 tree (a container's root may be deeper than /)."""
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if tree in controllers.split(","):
                candidate = root / tree / path.lstrip("/")
                if candidate.is_dir():
                    return candidate
    except (OSError, ValueError):
        pass
    return root / tree


def _write(path, value, optional=False):
    try:
        path.write_text(str(int(value)))
    except OSError:
        if not optional:
            raise
