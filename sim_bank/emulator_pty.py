"""The emulated modem's serial port: a pseudo-terminal, and the thread that reads it.

The emulator owns the master side; clients open the slave path (or a stable
symlink to it, as udev gives a USB modem) exactly as they would open
``/dev/ttyUSB0``. ``unplug()`` makes the port disappear as a pulled cable does;
``replug()`` brings a new pty back behind the same link.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("sim_bank.emulator")

WRITE_DEADLINE = 2.0  # seconds a write waits for a client that does not read; then the bytes are lost
IDLE = 0.1  # seconds between calls of ``idle`` when nothing is typed


class PtyPort:
    """One pty, read on a thread of its own: what comes in goes to ``feed``; ``idle`` runs
    between reads (at least every ``IDLE`` seconds)."""

    def __init__(self, name: str, link: Path | None, feed: Callable[[bytes], None], idle: Callable[[], None]) -> None:
        self.name = name
        self.link = link
        self._feed = feed
        self._idle = idle
        self._wlock = threading.Lock()
        self._master: int | None = None
        self._slave: int | None = None
        self._thread: threading.Thread | None = None
        self._running = False
        self._stopped = threading.Event()  # set by stop(): ends the reader's waits at once
        self._wake: tuple[int, int] | None = None  # a pipe whose write end stop() uses to end select()

    @property
    def path(self) -> str:
        """The path a client opens: the stable link if one was asked for, else the pty slave."""
        if self.link is not None:
            return str(self.link)
        if self._slave is None:
            raise RuntimeError("emulator not started")
        return os.ttyname(self._slave)

    def start(self) -> None:
        self._open()
        wake = os.pipe()
        self._wake = wake
        self._stopped.clear()
        self._running = True
        self._thread = threading.Thread(target=self._run, args=(wake[0],), name=f"emulator-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._running = False
        self._stopped.set()
        if self._wake is not None:
            with contextlib.suppress(OSError):
                os.write(self._wake[1], b"x")
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._close()
        if self._wake is not None:
            for fd in self._wake:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._wake = None
        self._remove_link()

    def unplug(self) -> None:
        """The USB cable is pulled: the pty and its link disappear."""
        with self._wlock:
            self._close()
        self._remove_link()

    def replug(self) -> None:
        """The modem is back, on a new pty behind the same link (as udev would do it)."""
        with self._wlock:
            self._open()

    def write(self, data: bytes) -> None:
        with self._wlock:
            fd = self._master
            if fd is None:
                return
            deadline = time.monotonic() + WRITE_DEADLINE
            view = memoryview(data)
            while view:
                try:
                    n = os.write(fd, view)
                    view = view[n:]
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        return  # nobody reads the line: bytes are lost, as on a real serial port
                    time.sleep(0.001)
                except OSError:
                    return

    def _open(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        if self.link is not None:
            tmp = self.link.with_name(self.link.name + ".tmp")
            if tmp.is_symlink() or tmp.exists():
                tmp.unlink()
            tmp.symlink_to(os.ttyname(slave))
            tmp.replace(self.link)

    def _close(self) -> None:
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None

    def _remove_link(self) -> None:
        if self.link is not None and self.link.is_symlink():
            self.link.unlink()

    def _run(self, wake: int) -> None:
        while self._running:
            fd = self._master
            if fd is None:
                self._stopped.wait(0.05)  # unplugged: wait for replug() (or stop())
                continue
            try:
                ready, _, _ = select.select([fd, wake], [], [], IDLE)
            except (OSError, ValueError):
                self._stopped.wait(0.05)
                continue
            if fd in ready:
                try:
                    data = os.read(fd, 4096)
                except BlockingIOError:
                    continue
                except OSError as exc:
                    # EIO: no client has the slave open right now; EBADF: unplug() closed the pty
                    if exc.errno not in (errno.EIO, errno.EBADF):
                        log.warning("emulator_read_failed: %s: %s", self.name, exc)
                    self._stopped.wait(0.01)
                    continue
                if fd != self._master:
                    continue  # unplugged while reading: these bytes went to a cable that is gone
                self._feed(data)
            self._idle()
