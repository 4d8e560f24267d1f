from django.apps import AppConfig


class CompetitionsConfig(AppConfig):
    name = "competitions"
    verbose_name = "Competitions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connects the receiver that forgets a cached receipt key when settings change.
        # And the one that counts failed logins (page and API alike).
        from . import login_guard  # noqa: F401
        from .services import receipts  # noqa: F401
