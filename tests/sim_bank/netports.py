"""Emulated modems on the network: behind a real ser2net (RFC 2217), or a raw TCP bridge.

``Ser2net`` writes its own ser2net.yaml in a test's directory and runs ser2net in the
foreground on 127.0.0.1, one RFC 2217 port per emulator; the test can kill it, start it
again on the same ports, or stop it dead (SIGSTOP: the connection stays up and nothing
answers). ``TcpBridge`` is a modem pool's "TCP server" port: raw bytes between one TCP
client at a time and an emulator's pty.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import socket
import subprocess
import termios
import threading
import time
import tty
from collections.abc import Sequence
from pathlib import Path

import pytest

SER2NET = shutil.which("ser2net") or ("/usr/sbin/ser2net" if os.path.exists("/usr/sbin/ser2net") else None)
needs_ser2net = pytest.mark.skipif(SER2NET is None, reason="ser2net is not installed (apt-get install ser2net)")
START_TIMEOUT = 10.0


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` different TCP ports free on 127.0.0.1 (all held at once while they are chosen)."""
    with contextlib.ExitStack() as stack:
        held = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in held:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in held]


def listening(port: int) -> bool:
    """Whether something listens on 127.0.0.1:``port`` -- read from /proc, without connecting
    (a connection would take ser2net's one seat for that modem)."""
    wanted = f":{port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[1].endswith(wanted) and fields[3] == "0A":
                    return True
    return False


def ser2net_yaml(devices: dict[int, str], baudrate: int = 115200) -> str:
    """A ser2net.yaml (ser2net 4) with one RFC 2217 port per device, on loopback only."""
    out = ["%YAML 1.1", "---"]
    for tcp_port, device in devices.items():
        out += [
            f"connection: &modem{tcp_port}",
            f"    accepter: telnet(rfc2217),tcp(nodelay),127.0.0.1,{tcp_port}",
            "    enable: on",
            "    options:",
            "      kickolduser: true",
            "      max-connections: 1",
            "      chardelay: false",
            f"    connector: serialdev,{device},{baudrate}n81,local",
            "",
        ]
    return "\n".join(out)


class Ser2net:
    """A real ser2net serving ``devices`` (pty paths) over RFC 2217 on 127.0.0.1."""

    def __init__(self, directory: Path, devices: Sequence[str]) -> None:
        assert SER2NET is not None
        self.directory = directory
        self.ports = dict(zip(free_ports(len(devices)), devices, strict=True))
        self.config = directory / "ser2net.yaml"
        self.config.write_text(ser2net_yaml(self.ports))
        self.log = directory / "ser2net.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def urls(self) -> list[str]:
        return [f"rfc2217://127.0.0.1:{p}" for p in self.ports]

    def start(self) -> Ser2net:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [SER2NET, "-n", "-u", "-c", str(self.config), "-P", str(self.directory / "ser2net.pid")],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not all(listening(p) for p in self.ports):
            if self.process.poll() is not None:
                raise RuntimeError(f"ser2net exited with {self.process.returncode}: {self.log.read_text()[-500:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"ser2net did not listen in {START_TIMEOUT} s")
            time.sleep(0.02)
        return self

    def kill(self) -> None:
        """SIGKILL: every connection ends with the process (the kernel closes its sockets)."""
        process, self.process = self.process, None
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGCONT)  # a stopped process dies too, but be plain about it
                process.kill()
            process.wait(10)

    def freeze(self) -> None:
        """SIGSTOP: connections stay up, nothing answers -- a half-open link, as a hung box gives."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def __enter__(self) -> Ser2net:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()


class TcpBridge:
    """A raw TCP port for one pty (a modem pool's "TCP server" mode): one client at a time, the
    pty opened while a client is connected, bytes copied both ways."""

    def __init__(self, device: str) -> None:
        self.device = device
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        self._stop_r, self._stop_w = os.pipe()
        self._client: socket.socket | None = None
        self._thread = threading.Thread(target=self._run, name=f"bridge-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def start(self) -> TcpBridge:
        self._thread.start()
        return self

    def close(self) -> None:
        os.write(self._stop_w, b"x")
        self._thread.join(10)
        self._server.close()
        os.close(self._stop_r)
        os.close(self._stop_w)

    def drop(self) -> None:
        """End the current client's connection, as a pool's reset does."""
        client = self._client
        if client is not None:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> TcpBridge:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        while True:
            ready, _, _ = select.select([self._server, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            client, _ = self._server.accept()
            self._client = client
            try:
                if self._serve(client):
                    return
            finally:
                self._client = None
                client.close()

    def _serve(self, client: socket.socket) -> bool:
        """Copy bytes until the client leaves; True when the bridge is closing."""
        fd = os.open(self.device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            tty.setraw(fd)
            termios.tcflush(fd, termios.TCIOFLUSH)
            return _pump(client, fd, self._stop_r)
        finally:
            os.close(fd)


def _pump(client: socket.socket, fd: int, stop: int) -> bool:
    """Copy between ``client`` and ``fd`` until either side closes (False) or ``stop`` is
    readable (True)."""
    while True:
        ready, _, _ = select.select([client, fd, stop], [], [])
        if stop in ready:
            return True
        if client in ready:
            try:
                data = client.recv(4096)
            except OSError:
                return False
            if not data:
                return False
            _write_all(fd, data)
        if fd in ready:
            try:
                data = os.read(fd, 4096)
            except BlockingIOError:
                continue
            except OSError:
                return False
            try:
                client.sendall(data)
            except OSError:
                return False


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    deadline = time.monotonic() + 2.0
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            if time.monotonic() > deadline:
                return
            time.sleep(0.001)
