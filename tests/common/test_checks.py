"""Deployments that would answer wrongly are refused at start, with the fix in the message."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from clinic_crm.common.checks import PROCESSES_ENV, check_cache_is_shared, check_static_manifest

ROOT = Path(__file__).resolve().parent.parent.parent
LOCMEM = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
MANIFEST_STORAGE = "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"


@pytest.fixture
def caches_with(settings):
    def use(default):
        settings.CACHES = {**settings.CACHES, "default": default}

    return use


def test_a_per_process_cache_with_debug_off_is_an_error(settings, caches_with):
    # given DEBUG off and a cache each process keeps to itself
    settings.DEBUG = False
    caches_with(LOCMEM)
    # when the checks run
    errors = check_cache_is_shared()
    # then it is refused, saying why and what to set
    assert [e.id for e in errors] == ["clinic_crm.E001"]
    assert "DEBUG is off" in errors[0].msg and "CACHE_URL=rediscache://" in errors[0].hint


def test_a_per_process_cache_with_several_processes_is_an_error_even_in_debug(settings, caches_with, monkeypatch):
    settings.DEBUG = True
    caches_with(LOCMEM)
    monkeypatch.setenv(PROCESSES_ENV, "3")
    errors = check_cache_is_shared()
    assert [e.id for e in errors] == ["clinic_crm.E001"]
    assert "3 processes" in errors[0].msg


@pytest.mark.parametrize("debug,processes,default", [
    (True, "1", LOCMEM),  # runserver: one process, in development
    (False, "5", {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": "/tmp/c"}),
    (False, "5", {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:6379/1"}),
])
def test_a_shared_cache_or_one_development_process_passes(settings, caches_with, monkeypatch, debug, processes,
                                                          default):
    settings.DEBUG = debug
    caches_with(default)
    monkeypatch.setenv(PROCESSES_ENV, processes)
    assert check_cache_is_shared() == []


def test_uncollected_static_files_with_debug_off_are_an_error(settings, tmp_path):
    # given DEBUG off, the hashed static files storage, and nothing collected
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": MANIFEST_STORAGE}}
    # when the checks run
    errors = check_static_manifest()
    # then it is refused, with the command that fixes it
    assert [e.id for e in errors] == ["clinic_crm.E002"]
    assert "collectstatic" in errors[0].hint


def test_collected_static_files_pass(settings, tmp_path):
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": MANIFEST_STORAGE}}
    (tmp_path / "staticfiles.json").write_text('{"paths": {}, "version": "1.1", "hash": ""}')
    assert check_static_manifest() == []


def test_the_wsgi_entry_point_refuses_to_start_without_the_static_manifest(tmp_path):
    # given production settings whose static files were never collected
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "CACHE_URL") and not k.startswith("PYTEST")}
    env.update({"DEBUG": "0", "SECRET_KEY": "x" * 50, "CLINIC_CRM_VAR_DIR": str(tmp_path),
                "DJANGO_SETTINGS_MODULE": "clinic_crm.settings"})
    # when a server loads the app
    result = subprocess.run([sys.executable, "-c", "import clinic_crm.wsgi"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    # then it does not start, and says what to run
    assert result.returncode != 0
    assert "clinic_crm.E002" in result.stderr and "collectstatic" in result.stderr
