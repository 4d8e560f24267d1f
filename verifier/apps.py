"""Django app holding the Celery tasks that verify submissions."""

from django.apps import AppConfig


class VerifierConfig(AppConfig):
    name = "verifier"
    verbose_name = "Verifier"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from competitions.signals import submission_queued

        from .receivers import enqueue_on_submission_queued

        submission_queued.connect(enqueue_on_submission_queued, dispatch_uid="verifier.enqueue")

        from celery.signals import worker_ready, worker_shutdown

        from . import supervisor

        # Heartbeat and sweep in every worker's main process (verifier/supervisor.py).
        worker_ready.connect(supervisor.on_worker_ready, dispatch_uid="verifier.supervisor")
        worker_shutdown.connect(supervisor.on_worker_shutdown, dispatch_uid="verifier.stop")
