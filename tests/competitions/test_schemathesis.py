"""The live API against its own OpenAPI schema: schemathesis generates requests from the
schema the site serves (valid and invalid ones), sends them to a real server that this test
starts (pytest-django's live server, on the test database), as an anonymous visitor, a
competitor and an organizer, and checks every answer: no server error, a documented status
code and content type, a body that matches the documented schema, and invalid input
refused.

Bounded: EXAMPLES valid and EXAMPLES invalid requests per operation and role, generated
deterministically (derandomized, no example database), so the three runs together send a
few hundred requests. Every failure is collected and reported at the end.
"""

from __future__ import annotations

import itertools
import os
from datetime import timedelta

import pytest
import schemathesis
from django.core.cache import cache
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from competitions.models import User
from competitions.services import accounts
from competitions.services import commitments as commitment_service
from competitions.services import competitions as competition_service
from competitions.services import submissions as submission_service

from .helpers import commit, commitment_files, competition_input, npz_bytes, prove, sample_arrays
from .helpers import upload as file_upload

# Per operation, role and mode (valid, invalid): at most 17 operations x 2 x 4 x 3 roles =
# 408 requests (about 330 in practice: some operations take no input to make invalid).
EXAMPLES = int(os.environ.get("ZKARENA_SCHEMATHESIS_EXAMPLES", "4"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {"mode": "all", "max-examples": EXAMPLES},
        "phases": {
            "examples": {"enabled": False},
            "coverage": {"enabled": False},
            "stateful": {"enabled": False},
            "fuzzing": {"enabled": True},
        },
    }
)


class Arena:
    """Real objects for the generated requests to land on: a revealed competition with a
    commitment and a submission (a real proof in storage), an open one, a draft; and an API
    token per role."""

    def __init__(self):
        now = timezone.now()
        self.organizer = User.objects.create_user("olga", "o@example.org", "pw", is_organizer=True)
        self.competitor = User.objects.create_user("alice", "a@example.org", "pw")
        created = now - timedelta(days=10)
        revealed = self._competition("digits", created, now - timedelta(days=1))
        self._competition("open-one", created, now + timedelta(days=5))
        competition_service.create_competition(
            organizer=self.organizer,
            data=competition_input(slug="draft-one", reveal_at=now + timedelta(days=5),
                                   proof_deadline=now + timedelta(days=9)),
            now=created,
        )  # fmt: skip
        committed = commit(revealed, self.competitor)
        commitment_service.register_commitment(
            competition=revealed,
            competitor=self.competitor,
            now=created + timedelta(days=1),
            **commitment_files(committed),
        )
        proof = prove(revealed, self.competitor, committed).to_bytes()
        submission = submission_service.create_submission(
            competition=revealed,
            competitor=self.competitor,
            proof=file_upload("proof.zkproof", proof),
            now=now - timedelta(hours=1),
        )
        self.slugs = itertools.cycle(["digits", "open-one", "draft-one", None])
        self.ids = itertools.cycle([submission.pk, None])

    def _competition(self, slug, created, reveal):
        competition = competition_service.create_competition(
            organizer=self.organizer,
            data=competition_input(slug=slug, reveal_at=reveal,
                                   proof_deadline=reveal + timedelta(days=7)),
            now=created,
        )  # fmt: skip
        x, y = sample_arrays()
        return competition_service.upload_test_set(
            competition, by=self.organizer, upload=file_upload("t.npz", npz_bytes(x, y)),
            now=created,
        )  # fmt: skip

    def aim(self, case) -> None:
        """Most requests go to real objects (the rest keep their generated identifiers)."""
        params = case.path_parameters or {}
        if "slug" in params and (slug := next(self.slugs)) is not None:
            params["slug"] = slug
        if "id" in params and (pk := next(self.ids)) is not None:
            params["id"] = pk

    def headers(self, role: str) -> dict[str, str]:
        user = {"competitor": self.competitor, "organizer": self.organizer}.get(role)
        if user is None:
            return {}
        return {"Authorization": f"Token {accounts.token_for(user).key}"}


@pytest.fixture
def arena(transactional_db, media_root) -> Arena:
    cache.clear()
    return Arena()


def _describe(case, exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:600]
    return f"{case.method} {case.formatted_path} query={case.query}: {text}"


@pytest.mark.parametrize("role", ["anonymous", "competitor", "organizer"])
def test_live_api_conforms_to_its_schema(role, live_server, arena):
    schema = schemathesis.openapi.from_url(
        f"{live_server.url}/api/schema/?format=json", config=CONFIG
    )
    failures: list[str] = []
    sent = 0
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 17
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                phases=[Phase.generate],  # no shrinking: every failure is kept as it came
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case):
                nonlocal sent
                arena.aim(case)
                sent += 1
                try:
                    case.call_and_validate(headers=arena.headers(role), checks=CHECKS)
                except (Exception, BaseExceptionGroup) as exc:  # a check failed: keep going
                    failures.append(_describe(case, exc))

            try:
                run()
            except Unsatisfiable:
                # No invalid request exists for an operation without parameters or body.
                assert mode == GenerationMode.NEGATIVE, operation.label
    assert sent <= len(operations) * 2 * EXAMPLES
    assert failures == [], f"{len(failures)} of {sent} requests failed:\n" + "\n".join(
        failures
    )
