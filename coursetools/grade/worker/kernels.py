"""The kernels `course grade` starts: in the slot's sandbox, forked from its preloaded
Python (coursetools.grade.sandbox.zygote) or started anew, reached through Unix sockets in the
student's scratch folder, and ready as soon as both of their channels answer.

``kernel_maker(slot, ...)`` keeps one maker per grading slot from one notebook to the
next; the executor (execute.py) makes a ``SandboxedKernelManager`` per notebook.
"""
import asyncio
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from queue import Empty

import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager, KernelManager
from jupyter_client.provisioning import LocalProvisioner
from traitlets import Any, Type

from coursetools.grade.sandbox.bubblewrap import Sandbox
from coursetools.grade.sandbox.zygote import KernelMaker


class QuickStartClient(AsyncKernelClient):
    """jupyter_client's client, ready as soon as the kernel has answered kernel_info on its
    shell channel and reported idle for it on iopub, which shows that both are connected
    (jupyter_client's own waits for a further 0.2 s of silence on iopub, and reconnects
    every 0.1 s to a kernel that is not listening yet)."""

    def start_channels(self, *args, **kwargs):
        self.context.setsockopt(zmq.RECONNECT_IVL, 10)      # ms, for the sockets made now
        return super().start_channels(*args, **kwargs)

    async def _async_wait_for_ready(self, timeout=None):
        deadline = time.monotonic() + (timeout if timeout is not None else 60)
        asked = set()
        while time.monotonic() < deadline:
            asked.add(self.kernel_info())
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if (reply and reply["msg_type"] == "kernel_info_reply"
                    and await self._idle_for(asked, deadline)):
                self._handle_kernel_info_reply(reply)
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
        raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")

    wait_for_ready = _async_wait_for_ready

    async def _idle_for(self, asked, deadline, wait=0.5):
        """Whether iopub reports idle for one of the ``asked`` requests within ``wait`` s."""
        end = min(deadline, time.monotonic() + wait)
        while (left := end - time.monotonic()) > 0:
            try:
                message = await self.iopub_channel.get_msg(timeout=left)
            except Empty:
                return False
            if (message["msg_type"] == "status"
                    and message["content"].get("execution_state") == "idle"
                    and message["parent_header"].get("msg_id") in asked):
                return True
        return False


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel started inside ``sandbox`` (or, with None, as a plain subprocess), or
    forked by ``kernel_maker``, the slot's preloaded Python in its sandbox.

    Interrupts go as messages (a signal cannot cross into the sandbox's process
    tree) and the grading secret never reaches the kernel's environment.
    """

    sandbox = Any(None, allow_none=True)
    kernel_maker = Any(None, allow_none=True)
    client_factory = Type(QuickStartClient, klass=AsyncKernelClient)

    @property
    def kernel_spec(self):
        spec = KernelManager.kernel_spec.fget(self)
        if spec is not None:
            spec.interrupt_mode = "message"
        return spec

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        return self.sandbox.command(cmd) if self.sandbox is not None else cmd

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        owner = self.sandbox or (self.kernel_maker and self.kernel_maker.sandbox)
        if owner is not None:
            owner.give(self.connection_file)

    def use_folder(self, work, handover=None):
        """The kernel's Unix sockets in ``work``, its scratch folder, so it needs no network;
        its connection file in ``handover`` (the grader's folder, see Sandbox), else there."""
        self.transport = "ipc"
        self.ip = str(Path(work) / "kernel")
        self.connection_file = str(Path(handover or work) / "kernel.json")
        return self

    async def _async_pre_start_kernel(self, **kw):
        if self.kernel_maker is not None and self.provisioner is None:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", uuid.uuid4().hex)
            self.provisioner = ForkedProvisioner(kernel_id=self.kernel_id, parent=self,
                                                 kernel_spec=self.kernel_spec)
        return await super()._async_pre_start_kernel(**kw)

    async def _async_wait(self, pollinterval=0.1):
        """Wait for the kernel to stop, looking every 10 ms (jupyter_client: 100 ms)."""
        return await super()._async_wait(pollinterval=min(pollinterval, 0.01))



class ForkedProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, with the kernel forked by the slot's maker
    instead of started from a command (``coursetools.grade.sandbox.zygote``)."""

    async def launch_kernel(self, cmd, **kwargs):
        self.process = self.parent.kernel_maker.start_kernel(self.parent.connection_file,
                                                             kwargs.get("cwd"))
        self.pid, self.pgid, self.cwd = self.process.pid, None, kwargs.get("cwd")
        return self.connection_info

    async def wait(self):
        """As the local provisioner's, polling every 10 ms instead of 100 (a poll is one
        message to the maker)."""
        while self.process is not None and await self.poll() is None:
            await asyncio.sleep(0.01)
        return await super().wait()


#: the slot's kernel maker, kept from one notebook to the next (see coursetools.grade.worker.slots)
_MAKERS = {}
#: the folder a grading slot keeps its sandbox in, set by the slot (coursetools.grade.worker.slots)
SLOT_FOLDER = []


def kernel_maker(slot, limits, nnlib_copy=None):
    """This slot's running kernel maker, started (again) when there is none or when it has
    another copy of nnlib (coursetools.grade.exam)."""
    maker = _MAKERS.get(slot)
    wanted = Path(nnlib_copy).resolve() if nnlib_copy else None
    if maker is not None and maker.alive() and maker.sandbox.nnlib_copy == wanted:
        return maker
    if maker is not None:
        maker.close()
    folder = SLOT_FOLDER[0] if SLOT_FOLDER else None     # the slot's, removed with the slot
    root = Path(tempfile.mkdtemp(prefix=f"course-slot{slot}-", dir=folder))
    os.chmod(root, 0o755)
    sandbox = Sandbox(root / "scratch", slot, limits, handover=root / "grader",
                      nnlib_copy=nnlib_copy).prepare()
    _MAKERS[slot] = KernelMaker(sandbox, dict(os.environ))
    return _MAKERS[slot]


def close_kernel_makers():
    for maker in _MAKERS.values():
        maker.close()
        shutil.rmtree(maker.scratch.parent, ignore_errors=True)
    _MAKERS.clear()
