"""A real ``ballot serve`` (waitress) in a subprocess on 127.0.0.1, for the tests and bench/.

Every request goes to 127.0.0.1 only, with a timeout; every server is stopped (terminate, then
kill) when the block or fixture that started it ends.
"""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SERVE = [sys.executable, "-c", "from ballot.cli import main; main()", "serve"]
# The same server with one route that raises (tests/support/serve_with_fault.py).
SERVE_WITH_FAULT = [sys.executable, str(Path(__file__).with_name("serve_with_fault.py")), "serve"]
STARTUP_SECONDS = 20
REQUEST_SECONDS = 30


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(
    instance: Path | str, database_url: str, keys_dir: Path | str, **extra: str
) -> dict[str, str]:
    """The environment of a server process: this one's, the instance's settings, UTF-8 output,
    and no Flask variable of the developer's shell."""
    env = dict(os.environ)
    env.update(
        BALLOT_INSTANCE=str(instance),
        BALLOT_DATABASE_URL=database_url,
        BALLOT_KEYS_DIR=str(keys_dir),
        PYTHONUNBUFFERED="1",
        PYTHONIOENCODING="utf-8",
        **extra,
    )
    for name in ("FLASK_APP", "FLASK_DEBUG", "FLASK_RUN_PORT", "FLASK_RUN_HOST"):
        env.pop(name, None)
    return env


def request(
    url: str,
    body: bytes | None = None,
    timeout: float = REQUEST_SECONDS,
    content_type: str = "application/json",
    context: ssl.SSLContext | None = None,
) -> tuple[int, bytes]:
    """GET (or POST ``body``) on 127.0.0.1; the status and body, errors included. HTTPS (a
    proxy in front of the servers) with ``context``, which says whom to trust."""
    assert url.startswith("https://127.0.0.1:" if context else "http://127.0.0.1:"), url
    req = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    if body is not None:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


@dataclass
class Server:
    base: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def start_server(
    env: dict[str, str],
    log_path: Path,
    *,
    threads: int = 4,
    port: int | None = None,
    ready: str = "/api/polls/1/manifest",
    wait: bool = True,
    command: list[str] = SERVE,
) -> Server:
    """Start ``ballot serve`` (or ``command``) and wait until ``ready`` answers 200 (or only
    start it)."""
    port = port or free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port), "--threads", str(threads)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log_path)
    if wait:
        wait_until(server, lambda: _answers(server, ready))
    return server


def _answers(server: Server, path: str) -> bool:
    try:
        return request(server.base + path, timeout=5)[0] == 200
    except OSError:
        return False


def wait_until(
    server: Server, condition: Callable[[], bool], seconds: float = STARTUP_SECONDS
) -> None:
    """Wait for ``condition``; fail with the server's log if it exits or the time runs out."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert server.process.poll() is None, server.log()
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.1)


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)


@contextmanager
def serving(env: dict[str, str], log_path: Path, **options: object) -> Iterator[Server]:
    server = start_server(env, log_path, **options)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        stop_server(server)
