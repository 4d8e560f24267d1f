"""The repository layout keeps the standard library's `platform` module reachable.

platform/ holds the Django project configuration but is never a package: `import platform`
must yield the standard library under pytest, manage.py and the Celery worker alike. And
zkproofs, a library first, never imports Django.
"""

from __future__ import annotations

import json
import platform
import sysconfig
from pathlib import Path

from .conftest import REPO_ROOT

STDLIB_DIR = Path(sysconfig.get_paths()["stdlib"]).resolve()

# Printed as the last line of each child process: where `platform` came from, and proof
# that it is the real module (platform.system() is not defined by a namespace package).
REPORT_PLATFORM = (
    "import json, platform, sys; "
    "print(json.dumps({'file': platform.__file__, 'system': platform.system(), "
    "'django_settings': getattr(sys.modules.get('django.conf'), 'settings', None) "
    "is not None and sys.modules['django.conf'].settings.configured}))"
)


def assert_stdlib_platform(report: dict) -> None:
    assert report["file"] is not None, "platform resolved to a namespace package"
    assert Path(report["file"]).resolve().parent == STDLIB_DIR
    assert report["system"]


def last_json_line(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def test_platform_folder_is_not_a_package():
    assert (REPO_ROOT / "platform" / "zkarena_site" / "__init__.py").is_file()
    assert not (REPO_ROOT / "platform" / "__init__.py").exists()


def test_stdlib_platform_under_pytest(settings):
    # `settings` makes sure Django is configured in this process before looking.
    assert settings.ROOT_URLCONF == "zkarena_site.urls"
    assert Path(platform.__file__).resolve().parent == STDLIB_DIR
    assert platform.system()
    assert platform.python_implementation() == "CPython"


def test_stdlib_platform_under_manage_py(run_python):
    result = run_python(["manage.py", "shell", "-c", REPORT_PLATFORM])
    report = last_json_line(result.stdout)
    assert_stdlib_platform(report)
    assert report["django_settings"], "manage.py shell ran without Django settings"


def test_stdlib_platform_under_celery_app_loading(run_python):
    # Load the app exactly as `celery -A zkarena_site ...` does (the worker's path too), run a
    # command that uses the platform module, then look at what `platform` is.
    code = (
        "from celery.bin.celery import celery; "
        "celery.main(['-A', 'zkarena_site', 'report'], standalone_mode=False); " + REPORT_PLATFORM
    )
    result = run_python(["-c", code])
    assert "software -> celery:" in result.stdout
    report = last_json_line(result.stdout)
    assert_stdlib_platform(report)
    assert report["django_settings"], "the Celery app did not load the Django settings"


def test_zkproofs_imports_no_django(run_python):
    # Import every module under zkproofs/ (walking files, so that folders without an
    # __init__.py are covered too), then look for any web-side module.
    code = """
import json, pathlib, importlib, sys
root = pathlib.Path('zkproofs')
names = []
for path in sorted(root.rglob('*.py')):
    parts = path.with_suffix('').parts
    if parts[-1] == '__main__':
        continue
    if parts[-1] == '__init__':
        parts = parts[:-1]
    name = '.'.join(parts)
    importlib.import_module(name)
    names.append(name)
web = sorted(m for m in sys.modules
             if m.split('.')[0] in {'django', 'rest_framework', 'celery', 'zkarena_site',
                                    'competitions', 'verifier'})
print(json.dumps({'imported': names, 'web': web}))
"""
    result = run_python(["-c", code], env={"DJANGO_SETTINGS_MODULE": ""})
    report = last_json_line(result.stdout)
    assert "zkproofs" in report["imported"]
    assert report["web"] == []
