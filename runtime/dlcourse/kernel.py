"""Jupyter kernels reached over Unix sockets in a folder of their own, never over TCP ports.

jupyter_client finds free TCP ports by binding port 0 and letting the port go; the kernel binds it a moment later.
A kernel started at the same moment elsewhere (tests in parallel, two nbgrader courses autograding at once) can
take the port first, and the kernel exits with "Address already in use" before it replies: this kit's CI saw it
twice, once as a kernel that died at start and once as a 60 s wait that failed a whole autograde. Unix sockets in
a fresh private folder cannot collide with anyone's. Windows has no such sockets there, so it keeps TCP.

Needs jupyter_client, which running notebooks needs anyway (the ``notebook`` extra, or nbgrader).
"""
from __future__ import annotations

import os
import shutil
import tempfile

from jupyter_client.manager import AsyncKernelManager
from traitlets import CaselessStrEnum


class PrivateSocketKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` (what nbclient and nbgrader use) whose kernel listens on Unix sockets
    ``<a new temporary folder>/kernel-<n>``; the folder goes when the kernel is shut down."""

    transport = CaselessStrEnum(["tcp", "ipc"], default_value="tcp" if os.name == "nt" else "ipc", config=True)
    _socket_dir: str | None = None

    def _ip_default(self) -> str:
        if self.transport != "ipc":
            return super()._ip_default()
        # An absolute path: the kernel runs in the notebook's folder, its client wherever it was started. The
        # short prefix keeps the socket paths well under the 104-108 bytes a Unix socket's path may have.
        self._socket_dir = tempfile.mkdtemp(prefix="dlk-")
        return os.path.join(self._socket_dir, "kernel")

    async def _async_cleanup_resources(self, restart: bool = False) -> None:  # what every shutdown awaits
        await super()._async_cleanup_resources(restart=restart)
        if not restart and self._socket_dir:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None

    # AsyncKernelManager binds cleanup_resources to KernelManager's coroutine itself, which would skip the above.
    cleanup_resources = _async_cleanup_resources
