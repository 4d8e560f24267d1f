"""Signals other apps connect to.

``submission_queued`` is sent once a new submission is committed to the database, in state
``queued``, with ``submission_id`` (an int). It is the hand-off to verification: the
verifier app connects a receiver that enqueues its Celery task for that id. It is sent from
``transaction.on_commit``, so a receiver never sees a submission that could still roll back,
and the web request never waits for verification.
"""

from django.dispatch import Signal

submission_queued = Signal()
