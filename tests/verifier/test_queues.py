"""Verification queues by size: a submission whose architecture's estimated verification
time exceeds VERIFIER_LARGE_SECONDS goes to VERIFIER_LARGE_QUEUE (verifier/routing.py)."""

from __future__ import annotations

import numpy as np
import pytest
from django.test import override_settings

from competitions.models import Submission
from competitions.services import commitments as commitment_service
from tests.competitions.helpers import (
    CREATED,
    GOOD_WEIGHTS,
    commit,
    commitment_files,
    tiny_architecture,
)
from verifier import routing
from zkproofs.ml.architecture import QuantizedModel

from .conftest import Entry, wait_for_final
from .worker import new_queue_name, purge_queue, running_worker

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("needs_postgresql"),
]


def _hidden_model(hidden: int = 8) -> QuantizedModel:
    """4→8→ReLU→3 predicting as the tiny model does (the hidden layer copies the inputs:
    weight 4, shift 2), so its proofs verify; its proof costs more to verify."""
    first = np.zeros((hidden, 4), dtype=np.int64)
    first[:4, :4] = 4 * np.eye(4, dtype=np.int64)
    second = np.zeros((3, hidden), dtype=np.int64)
    second[:, :3] = GOOD_WEIGHTS[:, :3]
    return QuantizedModel(
        tiny_architecture(hidden=hidden),
        {
            "layers.0.weight": first,
            "layers.0.bias": np.zeros(hidden, dtype=np.int64),
            "layers.1.weight": second,
            "layers.1.bias": np.zeros(3, dtype=np.int64),
        },
    )


def _enter(arena, name: str, model: QuantizedModel | None = None) -> Entry:
    user = arena.competitor(name)
    committed = commit(arena.competition, user, model)
    record = commitment_service.register_commitment(
        competition=arena.competition, competitor=user, now=CREATED,
        **commitment_files(committed),
    )  # fmt: skip
    return Entry(user, record, committed)


def test_a_small_proof_after_a_large_one_is_verified_first(arena):
    large_entry = _enter(arena, "lara", _hidden_model())
    small_entry = _enter(arena, "sam")
    large_cost = large_entry.record.cost_verify_seconds
    small_cost = small_entry.record.cost_verify_seconds
    assert small_cost < large_cost
    threshold = (small_cost + large_cost) / 2
    large_proof = large_entry.proof(arena.competition)
    small_proof = small_entry.proof(arena.competition)

    small_queue, large_queue = new_queue_name(), new_queue_name()
    # The large queue's worker stands for a host busy with a long verification: it holds
    # each task 3 s. With one queue, the small proof would wait behind the large one.
    try:
        with (
            running_worker(queue=small_queue, name="small") as small_worker,
            running_worker(queue=large_queue, name="large",
                           env={"ZKARENA_TEST_VERIFY_DELAY": "3"}) as large_worker,
            override_settings(
                VERIFIER_QUEUE=small_queue,
                VERIFIER_LARGE_QUEUE=large_queue,
                VERIFIER_LARGE_SECONDS=threshold,
            ),
        ):  # fmt: skip
            large = arena.submit(large_entry, large_proof)
            small = arena.submit(small_entry, small_proof)
            assert routing.queue_for(large.pk) == large_queue
            assert routing.queue_for(small.pk) == small_queue
            wait_for_final([small.pk, large.pk], timeout=90)
    finally:
        purge_queue(small_queue)
        purge_queue(large_queue)

    large, small = Submission.objects.get(pk=large.pk), Submission.objects.get(pk=small.pk)
    assert (large.status, small.status) == ("verified", "verified"), (
        large.verification_log, small.verification_log)  # fmt: skip
    assert large.verification_worker.startswith(large_worker.hostname_prefix)
    assert small.verification_worker.startswith(small_worker.hostname_prefix)
    # Submitted second, verified first.
    assert large.pk < small.pk
    assert small.verification_finished_at < large.verification_finished_at


@pytest.mark.django_db
def test_routing_settings(arena, settings):
    entry = _enter(arena, "ann")
    submission = arena.submit(entry, entry.proof(arena.competition))
    cost = entry.record.cost_verify_seconds
    settings.VERIFIER_QUEUE, settings.VERIFIER_LARGE_QUEUE = "small", "large"
    settings.VERIFIER_LARGE_SECONDS = cost / 2
    assert routing.queue_for(submission.pk) == "large"
    settings.VERIFIER_LARGE_SECONDS = cost * 2
    assert routing.queue_for(submission.pk) == "small"
    # One queue: a threshold of 0, or no large queue.
    settings.VERIFIER_LARGE_SECONDS = 0
    assert routing.queue_for(submission.pk) == "small"
    settings.VERIFIER_LARGE_SECONDS, settings.VERIFIER_LARGE_QUEUE = cost / 2, ""
    assert routing.queue_for(submission.pk) == "small"
    # A commitment registered before costs were stored is costed from its architecture.
    settings.VERIFIER_LARGE_QUEUE = "large"
    type(entry.record).objects.filter(pk=entry.record.pk).update(
        cost_prove_seconds=None, cost_prove_megabytes=None, cost_verify_seconds=None,
        cost_proof_bytes=None,
    )  # fmt: skip
    assert routing.expected_verify_seconds(submission.pk) == pytest.approx(cost)
    assert routing.queue_for(submission.pk) == "large"
    assert routing.queue_for(10**9) == "large"  # unknown: never in the way of small ones


@pytest.mark.django_db
def test_the_token_names_the_queue_so_a_small_proof_overtaking_a_large_one_loses_nothing(
    arena, settings
):
    """The sweep proves a queued row's message lost when a message sent to the SAME queue
    later has started (FIFO). A small proof overtaking a large one on its own queue must not
    make the large one look lost (it would be re-sent to the back of its queue, again and
    again); a small one sent before the started small one is lost."""
    from datetime import timedelta

    from competitions.models import SubmissionStatus
    from verifier import services

    large_entry, small_entry = _enter(arena, "lara", _hidden_model()), _enter(arena, "sam")
    early_entry = _enter(arena, "sue")
    settings.VERIFIER_QUEUE, settings.VERIFIER_LARGE_QUEUE = "small", "large"
    settings.VERIFIER_LARGE_SECONDS = (small_entry.record.cost_verify_seconds
                                       + large_entry.record.cost_verify_seconds) / 2
    large = arena.submit(large_entry, large_entry.proof(arena.competition))
    early = arena.submit(early_entry, early_entry.proof(arena.competition))
    small = arena.submit(small_entry, small_entry.proof(arena.competition))
    t0 = CREATED + timedelta(days=30)
    sent = {s.pk: services.dispatch(s.pk, now=t0 + timedelta(seconds=i))
            for i, s in enumerate((large, early, small))}
    assert (sent[large.pk].queue, sent[large.pk].token[0]) == ("large", services.LARGE)
    assert (sent[early.pk].queue, sent[early.pk].token[0]) == ("small", services.MAIN)
    assert (sent[small.pk].queue, sent[small.pk].token[0]) == ("small", services.MAIN)
    # The small proof sent last has been started (and finished) by a small-queue worker.
    Submission.objects.filter(pk=small.pk).update(
        status=SubmissionStatus.VERIFIED, verification_started_at=t0 + timedelta(seconds=3))
    later = t0 + timedelta(seconds=settings.VERIFIER_QUEUED_TIMEOUT + 10)
    result = services.sweep(later)
    assert result.lost == [early.pk]  # overtaken on its own queue: provably lost
    assert Submission.objects.get(pk=large.pk).dispatch_token == sent[large.pk].token
