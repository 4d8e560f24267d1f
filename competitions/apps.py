from django.apps import AppConfig


class CompetitionsConfig(AppConfig):
    name = "competitions"
    verbose_name = "Competitions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connects the receiver that forgets a cached receipt key when settings change,
        # and the one that counts failed logins (page and API alike).
        from django.db.models.signals import post_save

        from . import login_guard  # noqa: F401
        from .models import Submission, User
        from .receivers import notify_on_verdict, refresh_boards_of, refresh_leaderboard
        from .services import receipts  # noqa: F401

        # A verdict written by the verification worker mails the submitter.
        post_save.connect(
            notify_on_verdict, sender=Submission, dispatch_uid="competitions.notify_on_verdict"
        )
        # The leaderboard cache (selectors): verdicts, moderation and bans refresh it.
        post_save.connect(
            refresh_leaderboard, sender=Submission, dispatch_uid="competitions.refresh_board"
        )
        post_save.connect(refresh_boards_of, sender=User, dispatch_uid="competitions.ban_board")
