"""The zkarena Django project: settings, URLs, WSGI/ASGI entry points and the Celery app.

It lives in platform/ under an import name of its own: platform/ is never a package, so the
standard library's `platform` module is never shadowed.
"""

# Load the Celery app whenever Django starts, so that tasks declared with @shared_task
# bind to it (the usual Django + Celery arrangement).
from .celery import app as celery_app

__all__ = ["celery_app"]
