"""Settings come from the environment; production refuses to start without a secret key."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_django(env_overrides):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
                               "print(settings.DATABASES['default']['ENGINE'], settings.CELERY_BROKER_URL)"],
        cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE": "clinic_crm.settings"}, capture_output=True, text=True,
        timeout=60,
    )


def test_debug_off_without_a_secret_key_refuses_to_start():
    result = run_django({"DEBUG": "0"})
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_the_embedded_defaults_are_sqlite_and_a_filesystem_broker(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
                               "print(settings.DATABASES['default']['ENGINE'], settings.CELERY_BROKER_URL)"],
        cwd=ROOT, env={**env, "DEBUG": "1", "CLINIC_CRM_VAR_DIR": str(tmp_path),
                       "DJANGO_SETTINGS_MODULE": "clinic_crm.settings"}, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "filesystem://"]


def test_database_and_broker_urls_are_read_from_the_environment():
    result = run_django({"DEBUG": "1", "DATABASE_URL": "postgres://u:p@db.example:5432/crm",
                         "CELERY_BROKER_URL": "redis://cache.example:6379/0"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.postgresql", "redis://cache.example:6379/0"]


def test_a_dummy_cache_url_caches_nothing_in_the_process_either():
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY",)}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
                               "print(settings.CACHES['default']['BACKEND'], settings.CACHES['local']['BACKEND'])"],
        cwd=ROOT, env={**env, "DEBUG": "1", "CACHE_URL": "dummycache://", "DJANGO_SETTINGS_MODULE": "clinic_crm.settings"},
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.core.cache.backends.dummy.DummyCache"] * 2


def test_the_production_profile_passes_the_deployment_checks(tmp_path):
    """`manage.py check --deploy` with the settings README's Production section gives: no error, no warning."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DEBUG", "SECRET_KEY", "CACHE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update({
        "DEBUG": "0", "SECRET_KEY": "a-production-secret-" + "k" * 40, "ALLOWED_HOSTS": "crm.example.com",
        "BEHIND_TLS_PROXY": "1", "CSRF_TRUSTED_ORIGINS": "https://crm.example.com",
        "CACHE_URL": "rediscache://127.0.0.1:6379/1", "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587",
        "CLINIC_CRM_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "clinic_crm.settings",
    })
    collected = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT,
                               env=env, capture_output=True, text=True, timeout=300)
    assert collected.returncode == 0, collected.stderr

    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
