"""The budget on the site (issue 11): organizers set it, everyone reads it, a commitment whose
architecture costs more to prove or verify at the competition's N is refused before any of
its bytes are decoded, an accepted one keeps its cost, and who sees that cost is decided in
one place (selectors.may_see_cost)."""

from __future__ import annotations

import dataclasses
import re
import struct

import numpy as np
import pytest
from django.urls import reverse

from competitions.models import Competition, ModelCommitment, Participation, Submission
from competitions.services import commitments as commitment_service
from competitions.services import competitions as competition_service
from competitions.services import proof_files
from competitions.services import submissions as submission_service
from tests.zkproofs.test_budget import CRAFTED
from zkproofs import accuracy, formats
from zkproofs.competition import DEFAULT_BUDGET, Budget
from zkproofs.ml.architecture import QuantizedModel

from .helpers import (
    CREATED,
    DEADLINE,
    REVEAL,
    SECOND,
    commitment_files,
    competition_input,
    npz_bytes,
    stored_files,
    tiny_architecture,
    upload,
)

pytestmark = pytest.mark.django_db
ROOMY = Budget(10**9, 10**6, 10**11)


def _post(api, role, competition, files):
    return api(role).post(
        f"/api/competitions/{competition.slug}/commitments/", files, format="multipart"
    )


def image_competition(users, slug: str, **budget) -> Competition:
    """MNIST-shaped inputs (1×28×28 in [0, 255], 10 classes), 20 test samples."""
    data = competition_input(slug=slug, input_shape=(1, 28, 28), input_min=0, input_max=255,
                             num_classes=10, max_parameters=5000, **budget)  # fmt: skip
    comp = competition_service.create_competition(organizer=users.organizer, data=data,
                                                  now=CREATED)  # fmt: skip
    rng = np.random.default_rng(7)
    x, y = rng.integers(0, 256, (20, 1, 28, 28)), np.arange(20) % 10
    return competition_service.upload_test_set(
        comp, by=users.organizer, upload=upload("test.npz", npz_bytes(x, y)), now=CREATED
    )


def crafted_commitment(competition: Competition, user) -> accuracy.CommittedModel:
    """A genuine commitment to the crafted model, bound to this competition and account. It
    is made against the competition's spec with a roomy budget: the budget is not in the
    spec's digest, so the proof of knowledge is valid for the competition itself."""
    rng = np.random.default_rng(0)
    model = QuantizedModel(CRAFTED, {s.name: rng.integers(-4, 4, s.shape)
                                     for s in CRAFTED.layout})  # fmt: skip
    spec = dataclasses.replace(competition.spec(), budget=ROOMY)
    return accuracy.commit_model(model, spec, user.uuid)


@pytest.fixture
def no_decoding(monkeypatch):
    """Fails the test if the commitment's points are decoded or its proof of knowledge is
    checked."""
    touched = []

    def forbidden(*args, **kwargs):
        touched.append(True)
        raise AssertionError("decoded before the budget was checked")

    monkeypatch.setattr(commitment_service, "verify_commitment", forbidden)
    monkeypatch.setattr(formats, "decode_weight_commitment", forbidden)
    monkeypatch.setattr(formats, "decode_knowledge_proof", forbidden)
    return touched


# ------------------------------------------------------------------ refused at commit


def test_the_crafted_architecture_is_refused_at_commit_with_its_figures(
    api, clock, users, media_root, no_decoding
):
    """1,290 parameters (well within the limit), but 64 × 28 × 28 conv outputs per sample and
    784-position max windows: about 14 s to prove at N = 20, over a 10-second budget."""
    tight = image_competition(users, "tight", max_prove_seconds=3)
    files_before = stored_files(media_root)
    committed = crafted_commitment(tight, users.competitor)
    cost = accuracy.proof_cost(CRAFTED, 20)
    assert CRAFTED.weight_count < tight.max_parameters and cost.prove_seconds > 3

    response = _post(api, "competitor", tight, commitment_files(committed))
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["code"] == "over_budget"
    assert "over the competition's budget at N = 20" in body["detail"]
    assert re.search(r"proving takes about [\d,]+ s \(budget 3 s\)", body["detail"]), body
    assert f"{cost.prove_seconds:,.0f} s" in body["detail"]
    # Nothing decoded, nothing written.
    assert no_decoding == []
    assert not ModelCommitment.objects.exists() and not Participation.objects.exists()
    assert stored_files(media_root) == files_before


def test_every_budget_figure_refuses(api, clock, users, no_decoding):
    """Verifying time and the proof's size are budgets too; bogus commitment bytes are never
    looked at when the architecture alone is over."""
    cost = accuracy.proof_cost(CRAFTED, 20)
    comp = image_competition(users, "narrow", max_verify_seconds=1,
                             max_proof_bytes=cost.proof_bytes - 1)  # fmt: skip
    assert cost.verify_seconds < 1  # within that one
    files = commitment_files(crafted_commitment(comp, users.competitor),
                             commitment=b"ZKCW" + bytes(60), knowledge_proof=b"junk")  # fmt: skip
    response = _post(api, "competitor", comp, files)
    assert response.status_code == 400 and response.json()["code"] == "over_budget"
    detail = response.json()["detail"]
    assert f"the proof has {cost.proof_bytes:,} bytes (budget {cost.proof_bytes - 1:,})" in detail
    assert "verifying" not in detail
    assert no_decoding == [] and not ModelCommitment.objects.exists()


def test_the_service_refuses_it_with_a_typed_error(users, clock):
    tight = image_competition(users, "tight", max_prove_seconds=3)
    with pytest.raises(commitment_service.InvalidInput) as refused:
        commitment_service.register_commitment(
            competition=tight, competitor=users.competitor,
            **commitment_files(crafted_commitment(tight, users.competitor)),
        )  # fmt: skip
    assert refused.value.code == "over_budget" and refused.value.field == "architecture"


# ------------------------------------------------------------------ the cost, recorded


def test_an_accepted_commitment_keeps_its_cost(api, clock, users):
    """The same architecture fits the default budget at N = 20 (cost grows with N)."""
    roomy = image_competition(users, "roomy")
    assert roomy.budget == Budget(DEFAULT_BUDGET.prove_seconds, DEFAULT_BUDGET.verify_seconds,
                                  competition_service.default_budget_proof_bytes())  # fmt: skip
    response = _post(api, "competitor", roomy,
                     commitment_files(crafted_commitment(roomy, users.competitor)))  # fmt: skip
    assert response.status_code == 201, response.json()
    cost = accuracy.proof_cost(CRAFTED, 20)
    record = ModelCommitment.objects.get()
    assert record.cost_prove_seconds == pytest.approx(cost.prove_seconds)
    assert record.cost_prove_megabytes == pytest.approx(cost.prove_megabytes)
    assert record.cost_verify_seconds == pytest.approx(cost.verify_seconds)
    assert record.cost_proof_bytes == cost.proof_bytes
    # The owner is told at once.
    assert response.json()["cost"] == record.cost
    assert response.json()["cost"]["proof_bytes"] == cost.proof_bytes


def test_the_tiny_model_keeps_its_cost_too(competition, alices):
    cost = accuracy.proof_cost(tiny_architecture(), competition.test_set_num_samples)
    assert alices.record.cost == {
        "prove_seconds": pytest.approx(cost.prove_seconds),
        "prove_megabytes": pytest.approx(cost.prove_megabytes),
        "verify_seconds": pytest.approx(cost.verify_seconds),
        "proof_bytes": cost.proof_bytes,
    }


# ------------------------------------------------------------------ who sees what


@pytest.fixture
def two_commitments(competition, users, register):
    return register(competition, users.competitor).record, register(competition, users.other).record


@pytest.mark.parametrize(
    ("role", "sees"),
    [
        ("anonymous", set()),
        ("competitor", {"alice"}),
        ("other", {"bob"}),
        ("organizer", {"alice", "bob"}),
        ("staff", {"alice", "bob"}),
    ],
)
def test_costs_are_shown_to_the_organizer_staff_and_each_owner(
    api, clock, competition, two_commitments, role, sees
):
    rows = api(role).get(f"/api/competitions/{competition.slug}/commitments/").json()["results"]
    assert {r["competitor"] for r in rows} == {"alice", "bob"}  # the list itself is public
    assert {r["competitor"] for r in rows if r["cost"] is not None} == sees
    for r in rows:
        assert "weights" not in r and "opening" not in r
        if r["cost"] is not None:
            assert set(r["cost"]) == {"prove_seconds", "prove_megabytes", "verify_seconds",
                                      "proof_bytes"}  # fmt: skip


@pytest.mark.parametrize(
    ("role", "shown"),
    [("anonymous", 0), ("other", 1), ("organizer", 2), ("staff", 2)],
)
def test_the_commitments_page_follows_the_same_rule(
    client, clock, users, competition, two_commitments, role, shown
):
    user = users.get(role)
    if user is not None:
        client.force_login(user)
    page = client.get(reverse("competition-commitments", args=[competition.slug]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Budget per model: 1,800 s to prove, 10 s to verify" in html
    # Both are the same tiny architecture: the same figures.
    assert two_commitments[0].cost == two_commitments[1].cost
    assert html.count(f"{two_commitments[0].cost_proof_bytes:,}</td>") == shown
    assert "alice" in html and "bob" in html


def test_a_competitor_sees_the_cost_of_their_own_commitments(client, clock, users, alices):
    client.force_login(users.competitor)
    html = client.get(reverse("my-submissions")).content.decode()
    assert f"{alices.record.cost_proof_bytes:,} bytes" in html and "s to verify" in html


def test_a_ban_hides_costs_from_the_banned_owner(users, alices):
    from competitions import selectors

    record = ModelCommitment.objects.select_related("competition").get()
    assert selectors.may_see_cost(users.competitor, record)
    users.competitor.is_active = False
    assert not selectors.may_see_cost(users.competitor, record)


# ------------------------------------------------------------------ the budget, published


def test_the_budget_is_in_the_api_and_the_spec(api, clock, users):
    comp = image_competition(users, "shown", max_prove_seconds=60, max_verify_seconds=2,
                             max_proof_bytes=1_000_000)  # fmt: skip
    body = api("anonymous").get(f"/api/competitions/{comp.slug}/").json()
    assert (body["max_prove_seconds"], body["max_verify_seconds"], body["max_proof_bytes"]) == (
        60, 2, 1_000_000)  # fmt: skip
    # The spec the command line builds from carries it (out of the digest).
    assert body["spec"]["budget"] == {"prove_seconds": 60, "verify_seconds": 2,
                                      "proof_bytes": 1_000_000}  # fmt: skip
    assert comp.spec().budget == Budget(60, 2, 1_000_000)
    assert comp.spec().digest() == dataclasses.replace(comp.spec(), budget=ROOMY).digest()


def test_the_budget_is_on_the_overview_and_the_rules(client, clock, competition):
    overview = client.get(reverse("competition-detail", args=[competition.slug])).content
    rules = client.get(reverse("competition-rules", args=[competition.slug])).content
    for html in (overview.decode(), rules.decode()):
        assert "1,800 s to prove, 10 s to verify and 16,000,000 bytes of proof on the 20 test " \
               "samples" in html


# ------------------------------------------------------------------ organizers set it


CREATE_BODY = {
    "slug": "budgeted",
    "title": "Budgeted",
    "input_shape": [4],
    "input_min": 0,
    "input_max": 15,
    "input_scale": 1,
    "num_classes": 3,
    "threshold": "3/4",
    "max_parameters": 1000,
    "reveal_at": REVEAL.isoformat(),
    "proof_deadline": DEADLINE.isoformat(),
}


def test_organizers_set_the_budget_through_the_api(api, clock):
    body = {**CREATE_BODY, "max_prove_seconds": 120, "max_verify_seconds": 3,
            "max_proof_bytes": 2_000_000}  # fmt: skip
    response = api("organizer").post("/api/competitions/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["max_prove_seconds"] == 120
    stored = Competition.objects.get(slug="budgeted")
    assert stored.budget == Budget(120, 3, 2_000_000)


def test_without_one_the_default_budget_within_the_upload_limit(api, clock, settings):
    response = api("organizer").post("/api/competitions/", CREATE_BODY, format="json")
    assert response.status_code == 201, response.json()
    assert Competition.objects.get().budget == DEFAULT_BUDGET
    # A site that accepts smaller proof files defaults to what still fits in one.
    settings.MAX_PROOF_BYTES = 1 << 20
    body = {**CREATE_BODY, "slug": "small-site"}
    assert api("organizer").post("/api/competitions/", body, format="json").status_code == 201
    budget = Competition.objects.get(slug="small-site").budget
    assert budget.proof_bytes == (1 << 20) - accuracy.PROOF_FILE_HEADER - accuracy.LAYERED_HEADER


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"max_prove_seconds": 0}, "max_prove_seconds"),
        ({"max_verify_seconds": -1}, "max_verify_seconds"),
        ({"max_prove_seconds": competition_service.MAX_BUDGET_SECONDS + 1}, "max_prove_seconds"),
        ({"max_proof_bytes": 0}, "max_proof_bytes"),
        ({"max_proof_bytes": 1 << 70}, "max_proof_bytes"),
        ({"max_verify_seconds": "ten"}, "max_verify_seconds"),
    ],
)
def test_budget_refusals(api, clock, change, field):
    response = api("organizer").post("/api/competitions/", {**CREATE_BODY, **change},
                                     format="json")  # fmt: skip
    assert response.status_code == 400
    body = response.json()
    assert field in body.get("errors", {}) or body.get("field") == field
    assert not Competition.objects.exists()


def test_a_proof_size_budget_past_the_upload_limit_is_refused(api, clock, settings):
    settings.MAX_PROOF_BYTES = 1 << 20
    body = {**CREATE_BODY, "max_proof_bytes": 1 << 20}
    response = api("organizer").post("/api/competitions/", body, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "max_proof_bytes"
    assert "proof files of at most 1,048,576 bytes" in response.json()["detail"]
    assert not Competition.objects.exists()


def test_organizers_set_the_budget_on_the_form(client, clock, users):
    client.force_login(users.organizer)
    form = client.get(reverse("competition-create")).content.decode()
    assert 'name="max_prove_seconds"' in form and 'value="1800"' in form
    data = {**CREATE_BODY, "input_shape": "4", "reveal_at": "2031-03-01 12:00",
            "proof_deadline": "2031-03-08 12:00", "commitment_cap": 3, "submission_limit": 5,
            "max_prove_seconds": 90,
            "max_verify_seconds": 4, "max_proof_bytes": 3_000_000}  # fmt: skip
    response = client.post(reverse("competition-create"), data)
    assert response.status_code == 302, response.content.decode()
    assert Competition.objects.get().budget == Budget(90, 4, 3_000_000)
    # Left empty: the defaults.
    data.update(slug="defaults", max_prove_seconds="", max_verify_seconds="",
                max_proof_bytes="")  # fmt: skip
    assert client.post(reverse("competition-create"), data).status_code == 302
    assert Competition.objects.get(slug="defaults").budget == DEFAULT_BUDGET
    data.update(slug="zero", max_verify_seconds="0")
    page = client.post(reverse("competition-create"), data)
    assert page.status_code == 200 and page.context["form"].errors.get("max_verify_seconds")


def test_the_database_refuses_a_zero_budget(competition):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Competition.objects.filter(pk=competition.pk).update(max_verify_seconds=0)


# ------------------------------------------------------------------ a bogus proof for it


def _header(competition, user, record, *, body_length: int) -> bytes:
    return struct.pack(
        ">4sH32s16s32s32sIIQ", accuracy.PROOF_FILE_MAGIC, 2, competition.spec().digest(),
        user.uuid.bytes, bytes.fromhex(record.architecture_digest),
        bytes.fromhex(record.commitment_digest), 18, competition.test_set_num_samples,
        body_length,
    )  # fmt: skip


def test_a_bogus_proof_of_the_wrong_length_is_refused_before_it_is_read(
    api, clock, users, media_root, monkeypatch
):
    """The crafted architecture, committed where the budget admits it: a proof file whose
    header and length are consistent but not the length its schedule gives is refused from
    the header alone (nothing hashed, stored or decoded)."""
    roomy = image_competition(users, "roomy")
    committed = crafted_commitment(roomy, users.competitor)
    assert _post(api, "competitor", roomy, commitment_files(committed)).status_code == 201
    record = ModelCommitment.objects.get()
    clock.set(REVEAL + SECOND)
    expected = accuracy.expected_proof_bytes(CRAFTED, roomy.spec())
    body_length = expected - proof_files.PROOF_HEADER_BYTES - 1
    bogus = _header(roomy, users.competitor, record, body_length=body_length)
    bogus += bytes(body_length)

    def forbidden(*args, **kwargs):
        raise AssertionError("the proof was read before its length was checked")

    monkeypatch.setattr(submission_service, "hash_upload", forbidden)
    response = api("competitor").post(
        f"/api/competitions/{roomy.slug}/submissions/",
        {"proof": upload("proof.zkproof", bogus)}, format="multipart",
    )  # fmt: skip
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "malformed_proof"
    assert f"has exactly {expected}" in response.json()["detail"]
    assert not Submission.objects.exists()
    assert not any(name.startswith("proofs/") for name in stored_files(media_root))


def test_commitments_before_the_budget_keep_no_cost_and_show_as_such(
    client, clock, users, competition
):
    """Rows written without a cost (before budgets existed) are listed as not recorded."""
    from .helpers import commitment_row

    commitment_row(competition, users.competitor, CREATED, "old").save()
    assert ModelCommitment.objects.get().cost is None
    client.force_login(users.organizer)
    html = client.get(reverse("competition-commitments", args=[competition.slug])).content
    assert b"not recorded" in html


def test_the_migration_costs_the_commitments_that_exist(users, competition):
    """The data migration that added costs fills them in for existing commitments (found by
    its function, whatever the migration's number)."""
    import importlib
    import pkgutil

    from django.apps import apps

    import competitions.migrations as package

    modules = [importlib.import_module(f"{package.__name__}.{m.name}")
               for m in pkgutil.iter_modules(package.__path__)]  # fmt: skip
    (record_costs,) = [m.record_costs for m in modules if hasattr(m, "record_costs")]
    from .helpers import commitment_row

    commitment_row(competition, users.competitor, CREATED, "old").save()
    record_costs(apps, None)
    cost = accuracy.proof_cost(tiny_architecture(), competition.test_set_num_samples)
    assert ModelCommitment.objects.get().cost_proof_bytes == cost.proof_bytes
