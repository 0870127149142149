"""The patient app's config under gunicorn with several workers and the embedded default cache (OFF-7).

Each worker is its own process. With no CACHE_URL the cache is the file cache under var/, which
every worker shares, so the config version is one for all of them: consecutive fetches share an
ETag whichever worker answers, and a change made through one worker shows on the very next fetch
answered by any other. A cache kept in each process is refused at start.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from clinic_crm.tenancy.choices import Role
from offers import services
from tests.conftest import PASSWORD, make_staff

ROOT = Path(__file__).resolve().parent.parent.parent
WORKERS = 3
FETCHES = 40

pytestmark = pytest.mark.django_db(transaction=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    # The test database, which the workers (other processes) read and write as committed rows.
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def app_env(var_dir: Path, **overrides) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("CACHE_URL", "DEBUG") and not k.startswith("PYTEST")}
    env.update({"DATABASE_URL": database_url(), "DEBUG": "0", "SECRET_KEY": "gunicorn-test-" + "x" * 40,
                "ALLOWED_HOSTS": "127.0.0.1", "CLINIC_CRM_VAR_DIR": str(var_dir), "LOG_LEVEL": "WARNING",
                "DJANGO_SETTINGS_MODULE": "clinic_crm.settings", **overrides})
    return env


class Gunicorn:
    def __init__(self, env: dict, log: Path):
        self.port = free_port()
        self.log = log
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.process = subprocess.Popen(
            [str(gunicorn), "clinic_crm.wsgi:application", "--bind", f"127.0.0.1:{self.port}", "--workers",
             str(WORKERS), "--no-control-socket", "--access-logfile", "-", "--access-logformat", "%(p)s %(r)s %(s)s"],
            cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)

    def wait_until_serving(self, seconds: float = 60) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    return True
            except OSError:
                time.sleep(0.2)
        return False

    def request(self, method: str, path: str, *, headers: dict, body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                         headers={**headers, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def answering_workers(self) -> set[str]:
        # Access log lines: "<pid> GET /api/v1/app/config HTTP/1.1 200".
        return set(re.findall(r"^<(\d+)> GET /api/v1/app/config ", self.log.read_text(), re.M))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture
def var_dir(tmp_path):
    # DEBUG is off, as in production: the pages need the collected static files.
    env = app_env(tmp_path)
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"], cwd=ROOT,
                   env=env, check=True, timeout=300)
    return tmp_path


@pytest.fixture
def server(var_dir, tmp_path):
    running = Gunicorn(app_env(var_dir), tmp_path / "gunicorn.log")
    try:
        assert running.wait_until_serving(), (tmp_path / "gunicorn.log").read_text()
        yield running
    finally:
        running.stop()


def test_every_worker_answers_the_same_config_and_shows_a_publish_on_the_next_fetch(clinic_a, in_clinic, server):
    # given an offer not yet published, and the app fetching its config from every worker
    with in_clinic(clinic_a):
        offer = services.create_offer(clinic=clinic_a, data={
            "name": "Whitening", "title": "20% off whitening", "discount_type": "percent",
            "discount_value": Decimal("20"), "active": True, "published": False})
    owner = make_staff(clinic_a, Role.OWNER)
    # The suite hashes passwords with MD5 for speed; the workers run with production's hashers.
    owner.password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt(), iterations=1000)
    owner.save(update_fields=["password"])
    app = {"X-App-Key": clinic_a.app_key}
    answers = [server.request("GET", "/api/v1/app/config", headers=app) for _ in range(FETCHES)]
    # then consecutive fetches share one ETag, and sending it back is a 304 whichever worker answers
    assert {status for status, _, _ in answers} == {200}
    tags = {headers["ETag"] for _, headers, _ in answers}
    assert len(tags) == 1
    held = {**app, "If-None-Match": tags.pop()}
    assert {server.request("GET", "/api/v1/app/config", headers=held)[0] for _ in range(FETCHES)} == {304}

    # when staff publish the offer through the API (one worker)
    status, _, body = server.request("POST", "/api/v1/staff/token", headers={},
                                     body={"email": owner.email, "password": PASSWORD, "clinic": clinic_a.slug})
    assert status == 200, body
    staff = {"Authorization": f"Bearer {json.loads(body)['access']}"}
    status, _, body = server.request("POST", f"/api/v1/staff/offers/{offer.pk}/publish", headers=staff, body={})
    assert status == 200, body

    # then the very next fetch, and every one after it, shows it, whichever worker answers
    for _ in range(FETCHES):
        status, headers, body = server.request("GET", "/api/v1/app/config", headers=held)
        assert status == 200, "a worker answered 304 with the config from before the publish"
        assert offer.promotion_key in [o["id"] for o in json.loads(body)["offers"]]
    assert len(server.answering_workers()) >= 2, "the fetches were all answered by one worker"


def test_a_cache_kept_in_each_worker_is_refused_at_start(var_dir, tmp_path):
    # when gunicorn starts its workers with a per-process cache asked for
    running = Gunicorn(app_env(var_dir, CACHE_URL="locmemcache://"), tmp_path / "refused.log")
    try:
        serving = running.wait_until_serving(seconds=30)
    finally:
        running.stop()
    # then no worker boots, and the log says why and what to set
    log = (tmp_path / "refused.log").read_text()
    assert not serving
    assert "clinic_crm.E001" in log and "CACHE_URL=rediscache://" in log
