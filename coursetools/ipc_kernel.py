"""Kernels over Unix sockets for the book's build and the tests.

jupyter_client starts a kernel over TCP on the loopback by default, and ipykernel then
warns at every start that the traffic is not encrypted. A kernel reached through Unix
sockets in a folder only its user can enter needs no encryption (ipykernel's own advice).
``IPCProvisioner`` gives each kernel such a folder; ``use_for_every_kernel()`` makes it
the default of the calling process, which the book's build does (``_ext/ipc_kernels.py``)
and the tests do (``tests/conftest.py``). Students' own Jupyter is left as it is, and
a kernel manager that has already chosen Unix sockets (course grade's) keeps its own.
"""
import shutil
import tempfile
from pathlib import Path

from jupyter_client.provisioning import KernelProvisionerFactory, LocalProvisioner

#: this provisioner's entry point (pyproject.toml, jupyter_client.kernel_provisioners)
NAME = "course-ipc"


class IPCProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, with the kernel's sockets in a private folder."""

    folder = None

    async def pre_launch(self, **kwargs):
        km = self.parent
        if km is not None and km.transport == "tcp" and self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="course-kernel-"))   # mode 0700
            km.transport, km.ip = "ipc", str(self.folder / "kernel")
        return await super().pre_launch(**kwargs)

    async def cleanup(self, restart=False):
        await super().cleanup(restart=restart)
        if not restart and self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def use_for_every_kernel():
    """Start every kernel of this process whose kernelspec names no provisioner with
    ``IPCProvisioner``."""
    KernelProvisionerFactory.instance().default_provisioner_name = NAME
