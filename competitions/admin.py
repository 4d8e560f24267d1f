"""The admin, for moderation: hide or show submissions, ban or unban accounts, grant
organizer rights. Every action goes through the services; records that proofs depend on
are read-only here."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin

from .models import (
    Competition,
    DataFile,
    ModelCommitment,
    Notification,
    Participation,
    Submission,
    User,
)
from .services import accounts
from .services import submissions as submission_service


@admin.register(User)
class ZkarenaUserAdmin(UserAdmin):
    list_display = ("username", "email", "uuid", "is_organizer", "is_active", "is_staff")
    list_filter = ("is_active", "is_organizer", "is_staff")
    readonly_fields = ("uuid",)
    fieldsets = (
        *UserAdmin.fieldsets,
        ("zkarena", {"fields": ("uuid", "is_organizer", "email_notifications")}),
    )
    actions = ["ban", "unban", "grant_organizer"]

    @admin.action(description="Ban the selected accounts (deactivate, revoke API tokens)")
    def ban(self, request, queryset):
        done = 0
        for user in queryset:
            if user.pk == request.user.pk:
                self.message_user(request, "You cannot ban yourself.", messages.WARNING)
                continue
            accounts.set_banned(user, by=request.user, banned=True)
            done += 1
        self.message_user(request, f"{done} account(s) banned.")

    @admin.action(description="Unban the selected accounts")
    def unban(self, request, queryset):
        for user in queryset:
            accounts.set_banned(user, by=request.user, banned=False)
        self.message_user(request, f"{queryset.count()} account(s) unbanned.")

    @admin.action(description="Allow the selected accounts to organize competitions")
    def grant_organizer(self, request, queryset):
        for user in queryset:
            accounts.set_organizer(user, by=request.user, organizer=True)
        self.message_user(request, f"{queryset.count()} account(s) may now organize.")


@admin.register(Competition)
class CompetitionAdmin(admin.ModelAdmin):
    list_display = ("slug", "title", "organizer", "reveal_at", "proof_deadline", "created_at")
    search_fields = ("slug", "title", "organizer__username")

    def has_add_permission(self, request):
        return False  # competitions are created by organizers, through the service

    # Secret until reveal_at (docs/platform.md, the permission matrix): staff see neither
    # the salt nor the stored test set before then, only the public digest.
    SECRET_UNTIL_REVEAL = ("test_set_salt", "test_set_file")

    def _hidden(self, obj) -> tuple[str, ...]:
        return self.SECRET_UNTIL_REVEAL if obj is not None and not obj.is_revealed() else ()

    def get_readonly_fields(self, request, obj=None):
        # Only the wording and the URL may change here: everything a proof, a commitment
        # or the fairness of the timeline depends on is frozen.
        editable = {"slug", "title", "description"}
        hidden = self._hidden(obj)
        return [
            f.name for f in Competition._meta.fields if f.name not in editable | set(hidden)
        ]

    def get_exclude(self, request, obj=None):
        return [*(super().get_exclude(request, obj) or ()), *self._hidden(obj)]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # Viewing stays possible (has_view_permission); moderation uses the actions.
        return False


@admin.register(ModelCommitment)
class ModelCommitmentAdmin(ReadOnlyAdmin):
    list_display = (
        "commitment_digest",
        "competition",
        "competitor",
        "parameter_count",
        "cost_prove_seconds",
        "cost_verify_seconds",
        "cost_proof_bytes",
        "created_at",
    )
    list_filter = ("competition",)
    search_fields = ("commitment_digest", "competitor__username")
    exclude = ("architecture", "commitment", "knowledge_proof", "receipt_signature")


@admin.register(Participation)
class ParticipationAdmin(ReadOnlyAdmin):
    list_display = ("competition", "competitor", "joined_at")


@admin.register(Submission)
class SubmissionAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "competition",
        "competitor",
        "claimed_count",
        "status",
        "hidden",
        "attempts",
        "infra_failures",
        "created_at",
    )
    list_filter = ("status", "hidden", "competition")
    search_fields = ("competitor__username", "proof_sha256")
    actions = ["hide", "unhide", "requeue"]

    @admin.action(description="Re-queue the selected submissions parked in error (platform faults)")
    def requeue(self, request, queryset):
        from verifier import services as verifier_services
        from verifier import tasks as verifier_tasks

        dispatches = verifier_services.requeue(
            queryset.values_list("id", flat=True), by=f"staff ({request.user.username})"
        )
        verifier_tasks.send_all(dispatches)
        self.message_user(request, f"{len(dispatches)} submission(s) queued again.")

    @admin.action(description="Hide the selected submissions (leaderboard and public pages)")
    def hide(self, request, queryset):
        for submission in queryset:
            submission_service.set_hidden(
                submission, by=request.user, hidden=True, reason="hidden by a moderator"
            )
        self.message_user(request, f"{queryset.count()} submission(s) hidden.")

    @admin.action(description="Show the selected submissions again")
    def unhide(self, request, queryset):
        for submission in queryset:
            submission_service.set_hidden(submission, by=request.user, hidden=False)
        self.message_user(request, f"{queryset.count()} submission(s) shown.")


@admin.register(DataFile)
class DataFileAdmin(admin.ModelAdmin):
    """Training data: read-only, but staff may take a file down (the stored file goes
    with its row)."""

    list_display = ("name", "competition", "size", "uploaded_at")
    search_fields = ("name", "competition__slug")
    readonly_fields = ("competition", "name", "description", "file", "size", "sha256",
                       "uploaded_at")  # fmt: skip

    def has_add_permission(self, request):
        return False

    def delete_model(self, request, obj):
        name = obj.file.name
        super().delete_model(request, obj)
        obj.file.storage.delete(name)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("key", "user", "subject", "created_at")
    search_fields = ("key", "user__username")
