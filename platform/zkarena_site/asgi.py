"""ASGI entry point: `uvicorn zkarena_site.asgi:application` or any ASGI server."""

import os
import sys
from pathlib import Path

# Same as wsgi.py: make zkarena_site importable when this file is loaded by its path.
_PLATFORM_DIR = str(Path(__file__).resolve().parent.parent)
if _PLATFORM_DIR not in sys.path:
    sys.path.insert(0, _PLATFORM_DIR)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zkarena_site.settings")

from django.core.asgi import get_asgi_application  # noqa: E402  (after the path is set)

application = get_asgi_application()
