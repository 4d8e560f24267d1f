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
