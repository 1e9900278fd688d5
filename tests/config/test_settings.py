"""Settings: safe embedded defaults, and production that passes Django's deployment checks."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from editorial.encryption import DEVELOPMENT_KEY

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args, **env):
    left_out = {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG", "EDITORIAL_WEBHOOK_SECRET_KEYS"}
    clean = {k: v for k, v in os.environ.items() if k not in left_out}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy_without_warnings(tmp_path):
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="editorial.example.org",
        EDITORIAL_WEBHOOK_SECRET_KEYS=Fernet.generate_key().decode(),
        VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = run_manage(
        "check", DJANGO_SETTINGS_MODULE="config.settings.production", ALLOWED_HOSTS="x.org", VAR_DIR=str(tmp_path)
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    ("keys", "refusal"),
    [
        (None, "Set the EDITORIAL_WEBHOOK_SECRET_KEYS environment variable"),
        ("", "editorial.E003"),
        ("not-a-fernet-key", "editorial.E003"),
        (f"{Fernet.generate_key().decode()},{DEVELOPMENT_KEY}", "editorial.E004"),
    ],
)
def test_production_refuses_to_start_without_a_real_webhook_secret_key(tmp_path, keys, refusal):
    """No key, an unusable one, or the public development key: production refuses to start."""
    given = {} if keys is None else {"EDITORIAL_WEBHOOK_SECRET_KEYS": keys}
    result = run_manage(
        "check",
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="x.org",
        VAR_DIR=str(tmp_path),
        **given,
    )
    assert result.returncode != 0
    assert refusal in result.stderr, result.stderr
    assert DEVELOPMENT_KEY not in result.stderr


def test_the_local_settings_encrypt_webhook_secrets_with_the_development_key(tmp_path):
    """`make run` needs no key: the public development one, which only DEBUG allows."""
    show = "from django.conf import settings as s; print(s.EDITORIAL_WEBHOOK_SECRET_KEYS, s.DEBUG)"
    local = run_manage("shell", "-c", show, DJANGO_SETTINGS_MODULE="config.settings.local", VAR_DIR=str(tmp_path))
    assert local.stdout.splitlines()[-1] == f"['{DEVELOPMENT_KEY}'] True", local.stderr
    refused = run_manage("check", DJANGO_SETTINGS_MODULE="config.settings.local", VAR_DIR=str(tmp_path), DEBUG="false")
    assert refused.returncode != 0 and "editorial.E004" in refused.stderr


def test_embedded_default_needs_no_server(tmp_path):
    code = (
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['OPTIONS']['transaction_mode'],"
        " s.CELERY_BROKER_URL.split(':')[0], s.EMAIL_BACKEND.rsplit('.', 2)[-2], s.DEBUG)"
    )
    result = run_manage(
        "shell", "--no-imports", "-c", code, DJANGO_SETTINGS_MODULE="config.settings.local", VAR_DIR=str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "IMMEDIATE", "filesystem", "filebased", "True"]
    assert (tmp_path / "mail").is_dir() and (tmp_path / "broker" / "queue").is_dir()


def test_environment_switches_to_postgresql_and_redis(tmp_path):
    code = (
        "from django.conf import settings as s; print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL,"
        " s.CELERY_BROKER_TRANSPORT_OPTIONS['socket_timeout'])"
    )
    result = run_manage(
        "shell",
        "--no-imports",
        "-c",
        code,
        DJANGO_SETTINGS_MODULE="config.settings.local",
        VAR_DIR=str(tmp_path),
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/x",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/3",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.postgresql", "redis://127.0.0.1:6379/3", "2"]


def test_look_ups_are_off_in_production_and_on_against_the_stub_locally(tmp_path):
    """No network by default where it matters; a newcomer's `make run` sees look-ups work."""
    show = "from django.conf import settings as s; print(s.EDITORIAL_RESOLVER_ENABLED, s.EDITORIAL_CROSSREF_URL)"
    production = run_manage(
        "shell",
        "-c",
        show,
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="editorial.example.org",
        EDITORIAL_WEBHOOK_SECRET_KEYS=Fernet.generate_key().decode(),
        VAR_DIR=str(tmp_path),
    )
    assert production.stdout.splitlines()[-1].split() == ["False", "https://api.crossref.org"], production.stderr
    local = run_manage("shell", "-c", show, DJANGO_SETTINGS_MODULE="config.settings.local", VAR_DIR=str(tmp_path))
    assert local.stdout.splitlines()[-1].split() == ["True", "http://127.0.0.1:8009/crossref"], local.stderr
