from django.apps import AppConfig


class CompetitionsConfig(AppConfig):
    name = "competitions"
    verbose_name = "Competitions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connects the receiver that forgets a cached receipt key when settings change.
        # And the one that counts failed logins (page and API alike).
        # A verdict written by the verification worker mails the submitter.
        from django.db.models.signals import post_save

        from . import login_guard  # noqa: F401
        from .models import Submission
        from .receivers import notify_on_verdict
        from .services import receipts  # noqa: F401

        post_save.connect(
            notify_on_verdict, sender=Submission, dispatch_uid="competitions.notify_on_verdict"
        )
