"""What the verification workers report about each task they ran (append-only)."""

from django.db import models


class VerificationRun(models.Model):
    """One run of ``verifier.tasks.verify_submission`` on a worker: what it returned (the
    outcome: verified, rejected, skipped, released, …, or ``failed`` when it raised), how
    long it took and the peak resident memory of the process that ran it."""

    submission_id = models.BigIntegerField(db_index=True)
    task_id = models.CharField(max_length=255, blank=True)
    queue = models.CharField(max_length=255, blank=True)
    worker = models.CharField(max_length=255, blank=True)
    outcome = models.CharField(max_length=32)
    seconds = models.FloatField()
    peak_memory_bytes = models.BigIntegerField(null=True, blank=True)
    finished_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(seconds__gte=0), name="verification_run_seconds_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"submission {self.submission_id}: {self.outcome} in {self.seconds:.2f} s"
