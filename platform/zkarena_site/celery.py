"""The Celery app of the zkarena site: `celery -A zkarena_site worker`.

Configuration comes from the Django settings (every CELERY_* name); tasks are found in the
installed apps' tasks modules.
"""

import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zkarena_site.settings")

app = Celery("zkarena_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _make_filesystem_broker_folders(sender: Celery, **kwargs: object) -> None:
    # kombu's filesystem transport (the embedded default broker) expects its folders to
    # exist; create them once the configuration is known, in producers and workers alike.
    if not str(sender.conf.broker_url).startswith("filesystem://"):
        return
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
