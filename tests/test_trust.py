"""Issue 16: commit times a verifier need not take on the site's word.

Against a live server and real local timestamp authorities (OpenSSL's ``ts``, tests/tsa.py):

- a commitment with a valid RFC 3161 token (obtained by ``zkarena commit`` itself) verifies,
  and ``verify --submission`` and the audit say it is independently timestamped; tokens
  after the reveal, from an unlisted authority, over another digest, corrupted or missing are
  refused with their own code and message, and nothing is written;
- the log's inclusion and consistency proofs verify over the API; appends racing on two
  connections get consecutive indices; a rewritten or forked history (the log edited in the
  database and re-signed, as a dishonest site holding its key would) is caught by ``zkarena
  witness`` and by the audit;
- backdating: a commitment the site inserts after the reveal, with a receipt it signs dated
  before it, is flagged by ``verify --submission`` and the audit (by the missing token where
  the competition lists an authority, by the log where it does not).

The site's clock is the only clock moved (``timezone.now`` in this process, which serves
the live server too); the authorities stamp the real time.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection, connections
from django.utils import timezone

from competitions.models import (
    Competition,
    LogEntry,
    LogHead,
    LogNode,
    LogState,
    ModelCommitment,
    Submission,
    SubmissionStatus,
    User,
)
from competitions.services import commitments as commitment_service
from competitions.services import competitions as competition_service
from competitions.services import receipts as receipt_service
from competitions.services import submissions as submission_service
from competitions.services import transparency
from tests.competitions.helpers import (
    commit,
    commitment_files,
    competition_input,
    npz_bytes,
    prove,
    sample_arrays,
    stored_files,
    upload,
)
from tests.test_client_flow import (  # noqa: F401 - _isolated is an autouse fixture
    PASSWORD,
    _isolated,
    calibration,
    identity_onnx,
)
from tests.zkproofs.cli_helpers import run_cli
from zkproofs import client as api
from zkproofs import commitlog, merkle, timestamps
from zkproofs.ml.architecture import Architecture
from zkproofs.receipts import Receipt

pytestmark = pytest.mark.django_db(transaction=True)
UNDER_CI = os.environ.get("CI", "").lower() == "true"


class SiteClock:
    def __init__(self, monkeypatch):
        self.now = None
        real = timezone.now
        monkeypatch.setattr(timezone, "now", lambda: self.now or real())

    def set(self, when):
        self.now = when


@pytest.fixture
def site_clock(monkeypatch) -> SiteClock:
    return SiteClock(monkeypatch)


def make_competition(slug: str, *, authorities=(), reveal_in=timedelta(days=1)) -> Competition:
    """Created and opened a day ago; the reveal ``reveal_in`` from the real now."""
    now = timezone.now()
    organizer, _ = User.objects.get_or_create(username="olga", defaults={"is_organizer": True})
    comp = competition_service.create_competition(
        organizer=organizer, now=now - timedelta(days=1),
        data=competition_input(slug=slug, reveal_at=now + reveal_in,
                               proof_deadline=now + reveal_in + timedelta(days=7),
                               timestamp_authorities=tuple(authorities)),
    )  # fmt: skip
    x, y = sample_arrays()
    return competition_service.upload_test_set(
        comp, by=organizer, upload=upload("test.npz", npz_bytes(x, y)), now=now - timedelta(days=1)
    )


def person(name: str) -> User:
    return User.objects.create_user(name, f"{name}@example.org", PASSWORD)


def statement(comp: Competition, user: User, committed) -> bytes:
    return timestamps.commitment_message(
        comp.uuid, user.uuid, Architecture.from_bytes(committed.architecture).digest(),
        committed.commitment_digest)  # fmt: skip


def register(comp, user, committed, token: bytes | None, now=None):
    files = commitment_files(committed)
    if token is not None:
        files["timestamp_token"] = upload("token.tsr", token)
    return commitment_service.register_commitment(
        competition=comp, competitor=user, now=now, **files)  # fmt: skip


def submit_verified(comp, user, committed, record, now) -> Submission:
    proof = prove(comp, user, committed)
    sub = submission_service.create_submission(
        competition=comp, competitor=user, commitment_id=record.pk,
        proof=upload("proof.zkp", proof.to_bytes()), now=now)  # fmt: skip
    # What the verification worker writes once the proof checks out.
    Submission.objects.filter(pk=sub.pk).update(
        status=SubmissionStatus.VERIFIED, proven_count=proof.claimed,
        verification_finished_at=now)  # fmt: skip
    return sub


def nothing_written(media_root: Path, files_before: list[str]) -> None:
    assert not ModelCommitment.objects.exists()
    assert not LogEntry.objects.exists() and not LogNode.objects.exists()
    assert stored_files(media_root) == files_before


# ------------------------------------------------------------------ timestamps


def test_commit_obtains_a_token_and_verify_and_audit_show_it(live_server, tsas, site_clock,
                                                            tmp_path, monkeypatch):
    listed, _ = tsas
    comp = make_competition("tiny", authorities=[listed.listing])
    alice = person("alice")
    assert run_cli("login", live_server.url, "--username", "alice").rc == 0
    res = run_cli("commit", identity_onnx(tmp_path / "model.onnx"), "--competition", "tiny",
                  "--calibration", calibration(tmp_path / "cal.npz"))  # fmt: skip
    assert res.rc == 0, res
    assert "timestamp: Test TSA stamped the commitment at" in res.out
    record = alice.commitments.get()
    assert record.timestamp_authority == "Test TSA" and record.timestamped_at < comp.reveal_at
    assert record.log_entry.index == 0

    site_clock.set(comp.reveal_at + timedelta(hours=1))
    monkeypatch.chdir(tmp_path)
    res = run_cli("prove", "--competition", "tiny")
    assert res.rc == 0, res
    res = run_cli("submit", "proof.zkp")
    assert res.rc == 0, res
    sub = Submission.objects.get()
    Submission.objects.filter(pk=sub.pk).update(status=SubmissionStatus.VERIFIED,
                                                proven_count=18)  # fmt: skip

    monkeypatch.setenv("ZKARENA_CONFIG", str(tmp_path / "stranger" / "config.json"))
    res = run_cli("verify", "--submission", sub.pk, "--url", live_server.url,
                  "--backend", "native")  # fmt: skip
    assert res.rc == 0, res
    assert "timestamp: Test TSA (RFC 3161; root CN=Test TSA root CA" in res.out
    assert "stamped this commitment at" in res.out and "independent of the site" in res.out
    assert "log: entry 0 of the site's signed log (2 entries), before the reveal's entry 1" \
        in res.out
    assert "commit before reveal: shown by an independent RFC 3161 timestamp" in res.out
    assert "VALID: the committed model labels at least 18/20" in res.out

    res = run_cli("audit", "tiny", "--url", live_server.url, "--backend", "native")
    assert res.rc == 0, res
    assert "timestamps: each commitment must carry an RFC 3161 token from Test TSA" in res.out
    assert f"#{sub.pk} alice: VALID, at least 18 correct, committed before the reveal (RFC 3161 " \
        "timestamp)" in res.out
    assert "CLEAN" in res.out


@pytest.mark.parametrize("case", ["after_reveal", "unlisted", "other_digest", "corrupted",
                                  "missing"])  # fmt: skip
def test_bad_tokens_are_refused_and_nothing_is_written(case, live_server, tsas, site_clock,
                                                       settings):
    listed, rogue = tsas
    alice = person("alice")
    if case == "after_reveal":
        # The reveal has come by the authority's clock; the site's clock lags behind it.
        comp = make_competition("tiny", authorities=[listed.listing],
                                reveal_in=timedelta(seconds=-30))  # fmt: skip
        site_clock.set(comp.reveal_at - timedelta(hours=1))
    else:
        comp = make_competition("tiny", authorities=[listed.listing])
    committed = commit(comp, alice)
    message = statement(comp, alice, committed)
    token = {
        "after_reveal": lambda: listed.stamp(message),
        "unlisted": lambda: rogue.stamp(message),
        "other_digest": lambda: listed.stamp(message + b"another commitment"),
        "corrupted": lambda: (lambda t: t[:-8] + bytes([t[-8] ^ 0x40]) + t[-7:])(
            listed.stamp(message)),
        "missing": lambda: None,
    }[case]()
    site = api.Client(live_server.url, run_cli_token(live_server.url))
    files_before = stored_files(Path(settings.MEDIA_ROOT))  # the test set only
    with pytest.raises(api.RefusedError) as refused:
        site.register_commitment("tiny", committed.architecture, committed.commitment,
                                 committed.knowledge_proof, token)  # fmt: skip
    code, message_text = refused.value.code, str(refused.value)
    expected = {
        "after_reveal": ("timestamp_after_reveal", "not before the reveal at"),
        "unlisted": ("timestamp_unlisted_authority",
                     "not signed by any of the competition's timestamp authorities (Test TSA)"),
        "other_digest": ("timestamp_wrong_digest", "the token stamps another digest"),
        "corrupted": ("timestamp_corrupted", "signature does not verify: it was altered"),
        "missing": ("timestamp_required", "requires an RFC 3161 timestamp token"),
    }[case]
    assert refused.value.status == 400 and code == expected[0], message_text
    assert expected[1] in message_text
    nothing_written(Path(settings.MEDIA_ROOT), files_before)


def run_cli_token(url: str) -> str:
    assert run_cli("login", url, "--username", "alice").rc == 0
    return json.loads(Path(os.environ["ZKARENA_CONFIG"]).read_text())["token"]


def test_a_competition_without_authorities_refuses_tokens_and_says_so(live_server, tsas):
    listed, _ = tsas
    comp = make_competition("plain")
    alice = person("alice")
    committed = commit(comp, alice)
    with pytest.raises(commitment_service.InvalidInput) as refused:
        register(comp, alice, committed, listed.stamp(statement(comp, alice, committed)))
    assert refused.value.code == "timestamp_not_accepted"
    assert not ModelCommitment.objects.exists()
    record = register(comp, alice, committed, None)
    assert record.timestamped_at is None and record.log_entry.index == 0
    body = api.Client(live_server.url).competition("plain")
    assert body["commit_time_evidence"] == "site" and body["timestamp_authorities"] == []


def test_listed_authorities_are_validated(db):
    organizer = User.objects.create_user("olga", is_organizer=True)
    bad = [{"name": "x", "url": "ftp://tsa.example", "certificate": "-----BEGIN"},
           {"name": "x", "url": "http://tsa.example", "certificate": "not a certificate"}]
    for item in bad:
        with pytest.raises(competition_service.InvalidInput) as refused:
            competition_service.create_competition(
                organizer=organizer, data=competition_input(timestamp_authorities=(item,)))
        assert refused.value.code == "invalid_timestamp_authority"
    assert not Competition.objects.exists()


# ------------------------------------------------------------------ the log


def test_log_proofs_verify_over_the_api(live_server, site_clock):
    comp = make_competition("tiny")
    users = [person(n) for n in ("alice", "bob", "carol")]
    for user in users:
        register(comp, user, commit(comp, user), None)
    site_clock.set(comp.reveal_at)
    transparency.ensure_reveal_logged(comp)
    site = api.Client(live_server.url)
    key = site.receipt_key()["public_key"]
    sth = commitlog.SignedTreeHead.from_dict(site.log_head())
    sth.verify(bytes.fromhex(key))
    assert sth.head.tree_size == 4
    entries = site.log_entries(0, 4)
    assert [e["kind"] for e in entries] == ["commitment"] * 3 + ["reveal"]
    for e in entries:
        proof = site.log_inclusion(e["index"], 4)
        merkle.verify_inclusion(e["index"], 4, merkle.leaf_hash(bytes.fromhex(e["data"])),
                                [bytes.fromhex(h) for h in proof["audit_path"]],
                                sth.head.root_hash)  # fmt: skip
    heads = {h.tree_size: bytes(h.root_hash) for h in LogHead.objects.all()}
    assert set(heads) == {1, 2, 3, 4}
    for first in range(1, 5):
        for second in range(first, 5):
            proof = site.log_consistency(first, second)["consistency_path"]
            merkle.verify_consistency(first, second, heads[first], heads[second],
                                      [bytes.fromhex(h) for h in proof])  # fmt: skip
    # The reveal is logged once; a commitment after it is refused even if the site's clock
    # were wrong (the log's order decides).
    assert transparency.ensure_reveal_logged(comp).index == 3
    site_clock.set(comp.reveal_at - timedelta(seconds=1))
    with pytest.raises(commitment_service.Conflict, match="reveal, which is in the log"):
        dave = person("dave")
        register(comp, dave, commit(comp, dave), None)
    with pytest.raises(api.RefusedError) as refused:
        site.log_inclusion(4, 5)
    assert refused.value.code == "log_out_of_range"


def test_concurrent_appends_get_consecutive_indices(transactional_db):
    if connection.vendor != "postgresql" and not UNDER_CI:
        pytest.skip("row locks are PostgreSQL's (set DATABASE_URL, or run `make test`)")
    comp = make_competition("tiny")
    now = timezone.now()

    def append(i):
        from django.db import transaction

        entry = commitlog.CommitmentEntry(comp.uuid, comp.uuid, bytes([i]) * 32, bytes(32), now)
        try:
            for _ in range(5):
                with transaction.atomic():
                    transparency.append(entry, competition=comp, now=now)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=append, args=(i,)) for i in range(1, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = list(LogEntry.objects.order_by("index"))
    assert [r.index for r in rows] == list(range(15))
    tree = merkle.MemoryTree([bytes(r.data) for r in rows])
    assert bytes(LogHead.objects.get(tree_size=15).root_hash) == tree.root()
    assert LogState.objects.get().size == 15


def rewrite_log(edit) -> None:
    """What a dishonest site holding its key can do: edit the entries, rebuild the tree and
    sign heads for it."""
    rows = list(LogEntry.objects.order_by("index"))
    edit(rows)
    LogNode.objects.all().delete()
    LogHead.objects.all().delete()
    tree = merkle.MemoryTree()
    for row in rows:
        row.save()
        tree.append(bytes(row.data))
    LogNode.objects.bulk_create([LogNode(level=lv, position=p, hash=h)
                                 for (lv, p), h in tree._nodes.items()])  # fmt: skip
    LogState.objects.filter(pk=1).update(
        size=tree.size, frontier=b"".join(merkle.frontier_of(tree.lookup, tree.size)))
    key, public = receipt_service.signing_key()
    head = commitlog.TreeHead(tree.size, timezone.now(), tree.root())
    LogHead.objects.create(tree_size=tree.size, root_hash=head.root_hash,
                           timestamp=head.timestamp, signature=head.sign(key),
                           public_key=public.hex())  # fmt: skip


def _change_first_commitment(rows):
    entry = commitlog.decode_entry(bytes(rows[0].data))
    rows[0].data = commitlog.encode_entry(
        commitlog.CommitmentEntry(entry.competition_id, entry.submitter_id,
                                  entry.architecture_digest, entry.commitment_digest,
                                  entry.committed_at - timedelta(days=1)))  # fmt: skip


def test_rewritten_history_is_caught_by_witness_and_audit(live_server, site_clock):
    comp = make_competition("tiny")
    alice, bob = person("alice"), person("bob")
    committed = {u: commit(comp, u) for u in (alice, bob)}
    records = {u: register(comp, u, committed[u], None) for u in (alice, bob)}
    site_clock.set(comp.reveal_at + timedelta(hours=1))
    for user in (alice, bob):
        submit_verified(comp, user, committed[user], records[user],
                        comp.reveal_at + timedelta(minutes=5))  # fmt: skip

    res = run_cli("witness", live_server.url)
    assert res.rc == 0 and "first look" in res.out and "3 entries" in res.out, res
    assert run_cli("witness", live_server.url).rc == 0
    res = run_cli("audit", "tiny", "--url", live_server.url, "--backend", "native")
    assert res.rc == 0 and "consistent with the head this machine witnessed" in res.out, res

    # Same size, another root: a fork.
    rewrite_log(_change_first_commitment)
    res = run_cli("witness", live_server.url)
    assert res.rc == 1, res
    assert "DETECTED: the log of 3 entries does not extend the one of 3" in res.out
    assert "two different roots for the same tree size 3" in res.out
    evidence = list(Path(os.environ["ZKARENA_CONFIG"]).parent.glob("witness/*-evidence-*.json"))
    assert len(evidence) == 1
    kept = json.loads(evidence[0].read_text())
    assert kept["witnessed"]["root_hash"] != kept["served"]["root_hash"]

    res = run_cli("audit", "tiny", "--url", live_server.url, "--backend", "native")
    assert res.rc == 1, res
    assert "the site rewrote or forked its history" in res.out
    # The edited entry no longer matches alice's receipt either.
    assert f"#{Submission.objects.get(competitor=alice).pk} alice: INVALID: log entry 0 is " \
        "not this commitment" in res.out

    # Rewritten and extended: no consistency proof links the witnessed head to it.
    def extend(rows):
        extra = LogEntry(index=len(rows), kind="commitment", competition=comp,
                         data=rows[0].data, created_at=timezone.now())  # fmt: skip
        rows.append(extra)

    rewrite_log(extend)
    res = run_cli("witness", live_server.url)
    assert res.rc == 1 and "does not extend the one of 3" in res.out, res


# ------------------------------------------------------------------ backdating


def _insert_backdated(comp, user, committed, *, log_it: bool):
    """A site colluding with ``user``: after the reveal it registers a commitment with a
    receipt it signs dated before the reveal, bypassing its own checks (and the TSA)."""
    from django.db import transaction

    backdated = comp.reveal_at - timedelta(hours=2)
    info = Architecture.from_bytes(committed.architecture)
    receipt = Receipt(comp.uuid, user.uuid, info.digest(), committed.commitment_digest, backdated)
    signature, public = receipt_service.sign(receipt)
    with transaction.atomic():
        record = ModelCommitment.objects.create(
            competition=comp, competitor=user, architecture=committed.architecture,
            architecture_digest=info.digest().hex(), parameter_count=info.weight_count,
            weight_rows=1, commitment=committed.commitment,
            commitment_digest=committed.commitment_digest.hex(),
            knowledge_proof=committed.knowledge_proof, created_at=backdated,
            receipt_signature=signature, receipt_public_key=public.hex(),
        )  # fmt: skip
        if log_it:  # appended by the site's own code: after the reveal's entry
            transparency.append(commitlog.CommitmentEntry.from_receipt(receipt, None),
                                competition=comp, commitment=record, now=timezone.now())
    return record


@pytest.mark.parametrize("variant", ["listed_authority", "logged_after_reveal", "not_logged"])
def test_a_backdated_commitment_is_flagged(variant, live_server, tsas, site_clock):
    listed, _ = tsas
    authorities = [listed.listing] if variant == "listed_authority" else []
    comp = make_competition("tiny", authorities=authorities)
    alice, mallory = person("alice"), person("mallory")
    honest = commit(comp, alice)
    token = listed.stamp(statement(comp, alice, honest)) if authorities else None
    alice_record = register(comp, alice, honest, token)

    site_clock.set(comp.reveal_at + timedelta(hours=1))
    transparency.ensure_reveal_logged(comp)
    late = commit(comp, mallory)  # a model fitted after the reveal, say
    late_record = _insert_backdated(comp, mallory, late, log_it=variant != "not_logged")
    now = comp.reveal_at + timedelta(minutes=30)
    good = submit_verified(comp, alice, honest, alice_record, now)
    bad = submit_verified(comp, mallory, late, late_record, now)

    # Every check a verifier ran before issue 16 passes: the receipt is the site's and
    # dated before the reveal.
    assert late_record.created_at < comp.reveal_at
    expected = {
        "listed_authority": "the competition requires an RFC 3161 timestamp on each commitment "
                            "and this one has none",
        "logged_after_reveal": "the commitment is log entry 2, after the reveal (entry 1)",
        "not_logged": "the commitment is not in the site's commitment log",
    }[variant]
    res = run_cli("verify", "--submission", bad.pk, "--url", live_server.url,
                  "--backend", "native")  # fmt: skip
    assert res.rc == 1, res
    assert "receipt: signed by the site's key" in res.out  # the receipt alone is fine
    assert f"INVALID: {expected}" in res.out
    res = run_cli("verify", "--submission", good.pk, "--url", live_server.url,
                  "--backend", "native")  # fmt: skip
    assert res.rc == 0, res

    res = run_cli("audit", "tiny", "--url", live_server.url, "--backend", "native")
    assert res.rc == 1, res
    assert f"#{good.pk} alice: VALID" in res.out
    assert f"#{bad.pk} mallory: INVALID: {expected}" in res.out
    assert "DISCREPANCIES" in res.out
