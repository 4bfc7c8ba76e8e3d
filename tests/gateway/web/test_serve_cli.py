"""``gateway serve`` as a real process and as systemd runs it: it says where it listens,
answers /health, stops on SIGTERM within a bound with the database closed cleanly, and
refuses a bad ``[web]`` section or a taken port with one clear line; HTTPS with
``[web] tls_cert/tls_key``, where the session cookie is Secure."""

from __future__ import annotations

import configparser
import json
import os
import queue
import shlex
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from click.testing import CliRunner

from gateway.cli import main
from gateway.config import Config
from gateway.config.sections import WebConfig
from tests.gateway.web.api import PASSWORD, serving

GATEWAY = [sys.executable, "-m", "gateway.cli"]
START = 20.0  # seconds for the process to import, migrate and listen
STOP = 15.0  # the bound on a SIGTERM stop (STOP_GRACE is 10 s for open streams; none here)


def write_config(tmp_path: Path, web: str = 'listen = "127.0.0.1:0"') -> Path:
    cfg = tmp_path / "gateway.toml"
    cfg.write_text(f'[site]\nid = "12"\n[storage]\ndatabase = "{tmp_path / "gateway.db"}"\n[web]\n{web}\n')
    return cfg


class Log:
    """The process's log (JSON lines on stderr) as it comes, read by a thread: every wait has a bound."""

    def __init__(self, stream: IO[str]) -> None:
        self._q: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.text: list[str] = []
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.text.append(line)
            if line.startswith("{"):
                self._q.put(json.loads(line))
        self._q.put(None)

    def until(self, event: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            line = self._q.get(timeout=max(0.0, deadline - time.monotonic()))
            if line is None:
                raise AssertionError(f"the log ended before {event}")
            if line["event"] == event:
                return line


@contextmanager
def served(cfg: Path, *args: str) -> Iterator[tuple[subprocess.Popen[str], str, Log]]:
    """``gateway serve`` started, with the URL its serve_listening line names and its log."""
    proc = subprocess.Popen(
        [*GATEWAY, "serve", "-c", str(cfg), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert proc.stderr is not None
    log = Log(proc.stderr)
    try:
        yield proc, str(log.until("serve_listening", START)["url"]), log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=STOP)


@pytest.mark.slow
def test_serve_listens_answers_health_and_stops_on_sigterm_with_the_database_closed(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    with served(cfg) as (proc, url, log):
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")  # the port it was given
        r = httpx.get(f"{url}/health", timeout=5)
        assert r.status_code == 200 and r.json()["database"] == "ok"
        assert httpx.get(f"{url}/api/v1/tickets", timeout=5).status_code == 401
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=STOP)
        assert time.monotonic() - started < STOP
        assert code in (0, -signal.SIGTERM)  # uvicorn ends with the signal that stopped it
        assert log.until("serve_stopped", 1.0)["level"] == "info"  # after the store closed
        assert "Traceback" not in "".join(log.text)
    db = tmp_path / "gateway.db"
    assert not Path(f"{db}-wal").exists()  # the last connection closed: the WAL checkpointed and gone
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT count(*) FROM sessions").fetchone() == (0,)  # migrated to the end


def test_a_taken_port_is_one_clear_line_and_exit_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cfg = write_config(tmp_path, f'listen = "127.0.0.1:{port}"')
        r = subprocess.run([*GATEWAY, "serve", "-c", str(cfg)], capture_output=True, text=True, timeout=START)
    assert r.returncode == 1
    assert f"web.listen: 127.0.0.1:{port} is in use by another process" in r.stderr
    assert "Traceback" not in r.stderr and "serve_started" not in r.stdout  # nothing opened


def test_a_bad_web_section_is_refused_by_serve_and_shown_by_check_config(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, 'listen = "everywhere"\nlogin_attempts = 0\ntls_cert = "missing.pem"')
    for command in ("serve", "check-config"):
        r = subprocess.run([*GATEWAY, command, "-c", str(cfg)], capture_output=True, text=True, timeout=START)
        assert r.returncode == 1, command
        for key in ("web.listen: 'everywhere' is not a port", "web.login_attempts", "web.tls_key", "web.tls_cert"):
            assert key in r.stderr, (command, key, r.stderr)
        assert "Traceback" not in r.stderr


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl binary to make a self-signed certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    key_kind = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]  # made in milliseconds
    where = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(
        ["openssl", "req", "-x509", *key_kind, "-nodes", "-days", "1", *where, "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


async def test_tls_serves_https_and_the_session_cookie_is_secure_there(tmp_path: Path, api_config: Config) -> None:
    cert, key = self_signed(tmp_path)
    config = replace(api_config, web=WebConfig(tls_cert=str(cert), tls_key=str(key)))
    async with serving(config) as api:
        await api.user("sara", "agent")
        https = api.url.replace("http://", "https://")
        trusted = ssl.create_default_context(cafile=str(cert))
        async with httpx.AsyncClient(base_url=https, verify=trusted, timeout=10) as client:
            health = await client.get("/health")
            assert health.status_code == 200
            assert health.headers["strict-transport-security"].startswith("max-age=")
            r = await client.post("/api/v1/session", json={"name": "sara", "password": PASSWORD})
            assert r.status_code == 201
            assert "Secure" in r.headers["set-cookie"] and "HttpOnly" in r.headers["set-cookie"]
            assert (await client.get("/api/v1/session")).json()["name"] == "sara"  # sent back over https
        with pytest.raises(httpx.HTTPError):  # plain http to the TLS port is not answered as HTTP
            await api.client.get("/health")


def test_a_certificate_that_cannot_be_used_is_one_clear_line_and_exit_1(tmp_path: Path) -> None:
    (tmp_path / "cert.pem").write_text("not a certificate\n")
    (tmp_path / "key.pem").write_text("not a key\n")
    cfg = write_config(tmp_path, 'listen = "127.0.0.1:0"\ntls_cert = "cert.pem"\ntls_key = "key.pem"')
    r = subprocess.run([*GATEWAY, "serve", "-c", str(cfg)], capture_output=True, text=True, timeout=START)
    assert r.returncode == 1
    assert "web.tls_cert: the certificate and key cannot be used" in r.stderr and "Traceback" not in r.stderr


DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


def unit(name: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None, comment_prefixes=("#",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / name, encoding="utf-8")
    return parser


def test_the_web_unit_runs_serve_as_the_daemon_s_user_after_it() -> None:
    web, daemon = unit("sms-gateway-web.service"), unit("sms-gateway.service")
    for key in ("User", "Group", "StateDirectory", "ConfigurationDirectory", "WorkingDirectory", "UMask"):
        assert web["Service"][key] == daemon["Service"][key], key  # one database, writable by both
    assert "sms-gateway.service" in web["Unit"]["After"].split() and "Requires" not in web["Unit"]
    assert web["Service"]["Restart"] == "always" and web["Service"]["KillSignal"] == "SIGTERM"
    assert int(web["Service"]["TimeoutStopSec"]) > 10  # longer than the grace open requests get
    assert web["Service"]["NoNewPrivileges"] == "yes" and web["Service"]["PrivateDevices"] == "yes"
    argv = shlex.split(web["Service"]["ExecStart"])
    assert argv[0].endswith("/bin/gateway") and argv[1:] == ["serve", "-c", "/etc/sms-gateway/gateway.toml"]
    assert CliRunner().invoke(main, [*argv[1:], "--help"]).exit_code == 0


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_web_unit(tmp_path: Path) -> None:
    gateway = Path(sys.executable).parent / "gateway"
    if not gateway.exists():
        pytest.skip("the gateway command is not installed beside this Python")
    text = (DEPLOY / "sms-gateway-web.service").read_text(encoding="utf-8")
    (tmp_path / "sms-gateway-web.service").write_text(text.replace("/opt/sms-gateway/venv/bin/gateway", str(gateway)))
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(tmp_path / "sms-gateway-web.service")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    problems = [line for line in result.stderr.splitlines() if "sms-gateway-web" in line]
    assert result.returncode == 0 and problems == [], result.stderr


def test_the_nginx_example_streams_events_unbuffered_and_names_the_client() -> None:
    conf = (DEPLOY / "nginx-sms-gateway.conf").read_text(encoding="utf-8")
    events = conf[conf.index("location = /api/v1/events") :]
    events = events[: events.index("}")]
    assert "proxy_buffering off;" in events and "proxy_read_timeout 1h;" in events
    assert "proxy_set_header" not in events  # a location's own would drop the server's headers
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf  # replaced, never appended to
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in conf and "listen 443 ssl;" in conf
    assert "server 127.0.0.1:8080;" in conf and 'proxies = "127.0.0.1"' in conf
    assert conf.count("{") == conf.count("}")
