"""A kernel maker: one preloaded Python per grading slot, in the slot's sandbox, that forks
a fresh Jupyter kernel for each notebook.

Starting a kernel costs about a second (Python, ipykernel, numpy, matplotlib,
scikit-learn); a fork of a process that has imported them costs milliseconds. The
maker runs inside the bubblewrap sandbox (``coursetools.grade.sandbox.bubblewrap``) as the slot's
user and never runs student code itself: each kernel is a child forked before any
student cell runs, so every notebook starts from the same untouched copy. It is not
dumpable (no process of its user can trace it or read its memory), it talks to the
grader only over the pipes it was started with, which its kernels close, and between
two notebooks it kills every other process in the sandbox and empties /tmp and
/dev/shm; the grader empties the scratch folder.

Grader side: ``KernelMaker`` (start, ``start_kernel``, ``sweep``, ``close``) and
``ForkedKernel``, a Popen look-alike jupyter_client's provisioner drives.
Sandbox side: ``python -m coursetools.grade.sandbox.zygote``.
"""
import json
import os
import signal
import subprocess
import sys
import time

from coursetools.grade import timeouts

PRELOAD = ["numpy", "pandas", "matplotlib", "matplotlib.pyplot", "matplotlib.colors",
           "matplotlib_inline.backend_inline", "sklearn.datasets", "sklearn.model_selection",
           "sklearn.preprocessing", "sklearn.linear_model", "sklearn.neural_network",
           "sklearn.exceptions", "tqdm", "nnlib", "nnlib.plotting", "nnlib.grading",
           "coursetools.grade.protocol.kernel_side", "ipykernel.kernelapp", "ipykernel.ipkernel",
           "ipykernel.zmqshell", "ipykernel.debugger", "IPython"]
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


class MakerGone(RuntimeError):
    """The kernel maker died or stopped answering."""


# ------------------------------------------------------------------ grader side

class KernelMaker:
    """The slot's kernel maker: ``sandbox`` runs it, ``scratch`` its writable folder."""

    def __init__(self, sandbox, env):
        self.sandbox = sandbox
        command = sandbox.command([sys.executable, "-m", "coursetools.grade.sandbox.zygote"])
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, env=env, start_new_session=True)
        self._expect("ready", timeouts.MAKER_READY)

    @property
    def scratch(self):
        return self.sandbox.scratch

    def _send(self, request):
        try:
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
        except OSError:
            raise MakerGone("the kernel maker is gone") from None

    def _expect(self, key, seconds):
        import select
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.process.stdout], [], [], max(0.0, left))
            if not ready:
                raise MakerGone(f"the kernel maker did not answer {key!r} in {seconds} s")
            line = self.process.stdout.readline()
            if not line:
                raise MakerGone("the kernel maker is gone")
            try:
                answer = json.loads(line)
            except ValueError:
                raise MakerGone("the kernel maker sent something that is not an answer") from None
            if key in answer:
                return answer[key]

    def ask(self, request, key):
        self._send(request)
        return self._expect(key, timeouts.MAKER_ANSWER)

    def alive(self):
        return self.process.poll() is None

    def start_kernel(self, connection_file, cwd):
        """A fresh kernel on ``connection_file``, working in ``cwd`` (both in the scratch)."""
        pid = self.ask({"op": "start", "connection_file": str(connection_file),
                        "cwd": str(cwd)}, "started")
        return ForkedKernel(self, pid)

    def sweep(self):
        """Kill every process in the sandbox but the maker; empty /tmp and /dev/shm."""
        self.ask({"op": "sweep"}, "swept")

    def close(self):
        """Stop the maker and everything in its sandbox; remove the sandbox's group and tmpfs."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except OSError:
                pass
        self.process.wait()
        self.sandbox.close()
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass


class ForkedKernel:
    """What jupyter_client expects of a kernel's Popen, for a kernel the maker forked.

    The pid is the kernel's inside the sandbox: it means nothing out here, so signals
    go through the maker.
    """

    stdin = stdout = stderr = None

    def __init__(self, maker, pid):
        self.maker, self.pid, self.returncode = maker, pid, None

    def poll(self):
        if self.returncode is None:
            try:
                self.returncode = self.maker.ask({"op": "poll", "pid": self.pid}, "exit")
            except MakerGone:
                self.returncode = -signal.SIGKILL
        return self.returncode

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("kernel", timeout)
            time.sleep(0.05)
        return self.returncode

    def send_signal(self, signum):
        if self.returncode is None:
            try:
                self.maker.ask({"op": "signal", "pid": self.pid, "signum": int(signum)}, "sent")
            except MakerGone:
                self.returncode = -signal.SIGKILL

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)


# ----------------------------------------------------------------- sandbox side

def _preload():
    import importlib
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:      # a module this machine lacks is imported by the notebook, or not
            pass


def _not_dumpable():
    """No process of this user may trace the maker or read its memory or descriptors."""
    import ctypes
    PR_SET_DUMPABLE = 4
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def _kernel(connection_file, cwd, protocol_fds):
    """The forked child: drop the maker's pipes, become a kernel, never come back."""
    try:
        os.setsid()
        for fd in protocol_fds:
            os.close(fd)
        os.chdir(cwd)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        sys.argv = [sys.executable, "-f", connection_file]
        from ipykernel.kernelapp import IPKernelApp
        IPKernelApp.launch_instance(argv=["-f", connection_file])
    finally:
        os._exit(0)


def _sweep(keep):
    """Kill all but us and pid 1; empty /tmp and /dev/shm but for ``keep`` (the folders
    bubblewrap made there to mount the scratch folder or a virtualenv on)."""
    try:
        os.kill(-1, signal.SIGKILL)       # everyone this user may signal, but pid 1 and us
    except ProcessLookupError:
        pass
    while True:
        try:
            if os.waitpid(-1, 0)[0] == 0:
                break
        except ChildProcessError:
            break
    _remove_ipc()
    import shutil
    for folder in ("/tmp", "/dev/shm"):
        if not os.path.isdir(folder):
            continue
        for name in os.listdir(folder):
            path = os.path.join(folder, name)
            if path in keep:
                continue
            try:
                os.chmod(path, 0o700)
            except OSError:
                pass
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True, onerror=_make_writable)
            else:
                try:
                    os.unlink(path)
                except OSError:
                    pass


_IPC_RMID = 0


def _remove_ipc():
    """Remove every System V shared memory segment, semaphore set and message queue: the
    IPC namespace is the slot's, so they would outlive the student who made them."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    removers = {"shm": lambda i: libc.shmctl(i, _IPC_RMID, None),
                "sem": lambda i: libc.semctl(i, 0, _IPC_RMID),
                "msg": lambda i: libc.msgctl(i, _IPC_RMID, None)}
    for table, remove in removers.items():
        try:
            with open(f"/proc/sysvipc/{table}") as listing:
                rows = listing.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 1 and fields[1].isdigit():
                remove(int(fields[1]))


def _make_writable(function, path, _info):
    try:
        os.chmod(os.path.dirname(path), 0o700)
        os.chmod(path, 0o700)
        function(path)
    except OSError:
        pass


def _exit_status(pid):
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return -signal.SIGKILL
    if done == 0:
        return None
    return os.waitstatus_to_exitcode(status)


def serve():
    """Answer the grader's requests on the pipes this process was started with."""
    requests = os.fdopen(os.dup(0), "rb", buffering=0)
    answers = os.fdopen(os.dup(1), "wb", buffering=0)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(null, fd)
    protocol_fds = (requests.fileno(), answers.fileno())
    _not_dumpable()
    _preload()
    keep = {os.path.join(folder, name) for folder in ("/tmp", "/dev/shm")
            if os.path.isdir(folder) for name in os.listdir(folder)}

    def answer(**what):
        answers.write((json.dumps(what) + "\n").encode())

    answer(ready=True)
    for line in requests:
        request = json.loads(line)
        op = request.get("op")
        if op == "start":
            pid = os.fork()
            if pid == 0:
                _kernel(request["connection_file"], request["cwd"], protocol_fds)
            answer(started=pid)
        elif op == "poll":
            answer(exit=_exit_status(int(request["pid"])))
        elif op == "signal":
            try:
                os.killpg(int(request["pid"]), int(request["signum"]))
            except OSError:
                pass
            answer(sent=True)
        elif op == "sweep":
            _sweep(keep)
            answer(swept=True)


if __name__ == "__main__":
    serve()
