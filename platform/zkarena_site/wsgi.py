"""WSGI entry point: `gunicorn zkarena_site.wsgi` (from an install, or with --chdir platform)."""

import os
import sys
from pathlib import Path

# Servers that load this file by its path (mod_wsgi) have not put its folder on sys.path;
# add platform/ (never the repository root's platform package: there is none).
_PLATFORM_DIR = str(Path(__file__).resolve().parent.parent)
if _PLATFORM_DIR not in sys.path:
    sys.path.insert(0, _PLATFORM_DIR)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zkarena_site.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402  (after the path is set)

application = get_wsgi_application()
