"""`scripts/serve`, which `scripts/run` serves the app with: gunicorn with threads, so fifty simultaneous
connections are all answered (Django's development server reset some of them)."""

import http.client
import os
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONNECTIONS = 50


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    except OSError as error:  # a reset or refused connection is what this guards against
        return f"{type(error).__name__}: {error}"
    finally:
        connection.close()


def wait_until_up(port: int, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stdout.read().decode()
        if get(port, "/healthz") == 200:
            return
        time.sleep(0.2)
    raise AssertionError("scripts/serve did not start")


def test_scripts_run_serves_with_gunicorn_threads():
    assert '"$(dirname "$0")/serve"' in (ROOT / "scripts" / "run").read_text()
    assert "runserver" not in (ROOT / "scripts" / "run").read_text()


def test_fifty_simultaneous_connections_are_all_answered():
    port = free_port()
    env = {**os.environ, "DEBUG": "1", "PORT": str(port)}  # as scripts/run serves it
    server = subprocess.Popen([str(ROOT / "scripts" / "serve")], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_up(port, server)
        with ThreadPoolExecutor(max_workers=CONNECTIONS) as pool:
            statuses = list(pool.map(lambda _: get(port, "/healthz"), range(CONNECTIONS)))
        assert statuses == [200] * CONNECTIONS, [s for s in statuses if s != 200]
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
