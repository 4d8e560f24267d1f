"""``zkarena audit``: re-verify a whole leaderboard from a site's files, or offline from
one archive, trusting none of the site's verdicts.

``zkarena audit SLUG --url URL`` downloads the competition (its spec), the revealed test set
and salt, the site's receipt key, the published leaderboard, and for every submission the
site calls verified its record (architecture, commitment, signed receipt) and proof file;
``--bundle out.zip`` keeps all of it in one archive, which ``zkarena audit out.zip`` audits
again offline. Then, for every entry:

- the proof file's SHA-256 is the one the site recorded;
- the receipt is signed by the site's key over (competition, submitter, architecture,
  commitment, time), recomputed from the bytes, and its time precedes the reveal;
- the revealed test set and salt hash to the salted digest in the spec;
- the accuracy proof verifies (reference backend by default, ``--backend native`` for the
  fast one, ``--jobs N`` processes) for the claim the site shows;

and the ranking is recomputed from the entries that verified (best claim per competitor,
ties to the earlier receipt time, then the lower submission id) and compared row by row with
the published one. Exit 0 when everything agrees, 1 when anything does not (each
discrepancy is printed), 2 for bad input, 3 for network errors.

A competitor whose valid entries are absent from the leaderboard is reported as a warning,
not a discrepancy: moderation (a ban, a hidden submission) removes entries on purpose and
the public files do not say why.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import sys
import tempfile
import uuid
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .. import accuracy
from .. import client as api
from ..competition import CompetitionSpec, SpecError
from ..errors import VerificationError
from ..formats import FormatError
from ..ml import datasets
from .common import EXIT_INVALID, EXIT_OK, UsageError
from .output import table, utc_text
from .transparency import (
    Discrepancy,
    authorities_of,
    check_commitment_logged,
    check_consistent,
    check_reveal_logged,
    check_stamp,
    collect_entry,
    log_line,
    token_digest_of,
    verified_head,
    witness_check,
)

BUNDLE_VERSION = 2  # 2: with the commitment log's evidence and the timestamp tokens
MANIFEST = "manifest.json"
TEST_SET = "test-set.npz"


def _proof_name(submission_id: int) -> str:
    return f"proofs/submission-{int(submission_id)}.zkp"


# ------------------------------------------------------------------ collecting


def collect(site: api.Client, slug: str, receipt_key: str | None, out: Path) -> list[str]:
    """Download everything the audit needs into the archive ``out``; the problems met on
    the way (a stored proof that no longer matches its digest) are returned as
    discrepancies and the entry is kept without its proof."""
    problems: list[str] = []
    comp = site.competition(slug)
    info = site.test_set(slug)
    if not info.get("salt"):
        raise api.TimelineError(f"the test set of {slug} is revealed at "
                                f"{utc_text(comp['reveal_at'])}; audit after that",
                                code="not_revealed")
    test_set = site.download_test_set(slug)
    key = receipt_key or site.receipt_key()["public_key"]
    board = site.leaderboard(slug)
    listed = site.submissions(slug, status="verified")
    # The log: its signed head now, the last head this machine witnessed (and the proof that
    # the one extends the other), and the reveal's entry with its audit path.
    head, witnessed, consistency = witness_check(site, key)
    size = int(head.get("tree_size") or 0)
    print(f"{slug}: {len(board['rows'])} leaderboard rows, {len(listed)} verified "
          f"submissions to check", flush=True)
    entries = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr(TEST_SET, test_set)
        for item in listed:
            record = site.submission(item["id"])
            record["log_evidence"] = collect_entry(
                site, (record.get("commitment_record") or {}).get("log_index"), size)
            try:
                proof = site.download_proof(item["id"])
            except api.IntegrityError as exc:
                problems.append(f"submission #{item['id']}: {exc}")
                record["proof_missing"] = True
            else:
                bundle.writestr(_proof_name(item["id"]), proof)
            entries.append(record)
        manifest = {
            "version": BUNDLE_VERSION,
            "site": site.base_url,
            "competition": comp,
            "test_set": info,
            "receipt_key": key,
            "receipt_key_pinned": receipt_key is not None,
            "leaderboard": board,
            "log": {"head": head, "witnessed": witnessed, "consistency_path": consistency,
                    "reveal": collect_entry(site, comp.get("reveal_log_index"), size)},
            "submissions": entries,
            "collected_problems": problems,
        }
        bundle.writestr(MANIFEST, json.dumps(manifest, indent=1, default=str))
    return problems


# ------------------------------------------------------------------ checking one entry


@dataclass
class Verdict:
    submission_id: int
    competitor: str
    competitor_id: str
    claimed: int
    committed_at: str | None
    ok: bool
    reason: str = ""
    seconds: float = 0.0
    stamp: str = ""


_WORKER: dict = {}


def _test_set(bundle: zipfile.ZipFile):
    """The archive's test set, read through a temporary file (the loader wants a path and
    bounds its size)."""
    with tempfile.NamedTemporaryFile(suffix=".npz") as tmp:
        tmp.write(bundle.read(TEST_SET))
        tmp.flush()
        return datasets.load_npz(tmp.name)


def _log_context(manifest: dict) -> tuple[tuple | None, list[str]]:
    """((the verified signed head, the reveal's index or None), problems) of the archive's
    log evidence: the head signed by the site's key, consistent with the head this machine
    witnessed before, and the reveal entry in it, as the competition published it."""
    log = manifest.get("log") or {}
    comp, key = manifest["competition"], manifest["receipt_key"]
    try:
        sth = verified_head(log.get("head") or {}, key)
    except Discrepancy as exc:
        return None, [str(exc)]
    problems = []
    if log.get("witnessed"):
        try:
            check_consistent(log["witnessed"], sth, log.get("consistency_path"), key)
        except Discrepancy as exc:
            problems.append(str(exc))
    reveal_index = None
    try:
        spec = CompetitionSpec.from_json(json.dumps(comp["spec"]))
        reveal_index = check_reveal_logged(
            log.get("reveal"), sth, comp, spec, bytes.fromhex(manifest["test_set"]["salt"]),
            datetime.fromisoformat(comp["reveal_at"]))  # fmt: skip
    except Discrepancy as exc:
        problems.append(str(exc))
    return (sth, reveal_index), problems


def _load_context(bundle_path: str, backend: str) -> None:
    """Per process: the test set and the competition, read once from the archive."""
    with zipfile.ZipFile(bundle_path) as bundle:
        manifest = json.loads(bundle.read(MANIFEST))
        x, y = _test_set(bundle)
    _WORKER.update(bundle=bundle_path, manifest=manifest, x=x, y=y, backend=backend,
                   log=_log_context(manifest)[0])


def _check_entry(record: dict) -> Verdict:
    # Imported here: remote's receipt helpers, shared with `verify --submission`.
    from .remote import _check_receipt, receipt_from_record

    m, backend = _WORKER["manifest"], _WORKER["backend"]
    verdict = Verdict(int(record["id"]), str(record.get("competitor")),
                      str(record.get("competitor_id")), int(record.get("claimed_count", -1)),
                      None, ok=False)
    try:
        spec = CompetitionSpec.from_json(json.dumps(record["spec"]))
        site_spec = CompetitionSpec.from_json(json.dumps(m["competition"]["spec"]))
        com = record["commitment_record"]
        submitter = uuid.UUID(com["competitor_id"])
        architecture = bytes.fromhex(com["architecture"])
        commitment = bytes.fromhex(com["commitment"])
        receipt = com["receipt"]
    except (KeyError, TypeError, ValueError, SpecError) as exc:
        verdict.reason = f"the site's record is malformed: {exc}"
        return verdict
    if spec.digest() != site_spec.digest():
        verdict.reason = "bound to another competition spec than the competition's"
        return verdict
    if str(submitter) != verdict.competitor_id:
        verdict.reason = "the commitment belongs to another account than the submission"
        return verdict
    if record.get("proof_missing"):
        verdict.reason = "the stored proof no longer matches its recorded SHA-256"
        return verdict
    with zipfile.ZipFile(_WORKER["bundle"]) as bundle:
        try:
            data = bundle.read(_proof_name(verdict.submission_id))
        except KeyError:
            verdict.reason = "the archive holds no proof file for it"
            return verdict
    if hashlib.sha256(data).hexdigest() != record.get("proof_sha256"):
        verdict.reason = "the proof file does not match the SHA-256 the site recorded"
        return verdict
    key = m["receipt_key"]
    if receipt.get("public_key") != key:
        verdict.reason = "the receipt was signed by a key the site does not publish"
        return verdict
    try:
        rec, signature = receipt_from_record(spec.competition_id, submitter, architecture,
                                             commitment, receipt)
        _check_receipt(key, rec, signature, backend)
    except (VerificationError, FormatError, ValueError, api.ClientError) as exc:
        verdict.reason = f"commitment receipt: {exc}"
        return verdict
    verdict.committed_at = rec.committed_at.isoformat()
    reveal_at = datetime.fromisoformat(m["competition"]["reveal_at"])
    if rec.committed_at >= reveal_at:
        verdict.reason = (f"committed {rec.committed_at.isoformat()}, not before the reveal at "
                          f"{reveal_at.isoformat()}")
        return verdict
    # Independent of the site's word: the RFC 3161 token, and the log's order.
    try:
        verdict.stamp = check_stamp(m["competition"], com, rec, reveal_at)
        log = _WORKER.get("log")
        if log is None or log[1] is None:
            raise Discrepancy("the log's signed head or the reveal's entry does not verify, so "
                              "the commitment's place in the log cannot be checked")
        sth, reveal_index = log
        index = check_commitment_logged(record.get("log_evidence"), sth, rec,
                                        token_digest_of(com))
        log_line(index, reveal_index, sth)
    except Discrepancy as exc:
        verdict.reason = str(exc)
        return verdict
    try:
        container = accuracy.AccuracyProof.from_bytes(data)
        container.check_context(spec, submitter, architecture, commitment)
        if container.claimed != verdict.claimed:
            raise VerificationError(f"the proof claims {container.claimed}, the site shows "
                                    f"{verdict.claimed}")
        report = accuracy.verify_accuracy(
            spec, _WORKER["x"], _WORKER["y"], bytes.fromhex(m["test_set"]["salt"]), submitter,
            architecture, commitment, container.claimed, container.proof, backend=backend)
    except (VerificationError, FormatError, accuracy.CommitmentError, ValueError) as exc:
        verdict.reason = f"the proof does not verify: {exc}"
        return verdict
    verdict.ok = True
    verdict.seconds = report.seconds
    return verdict


# ------------------------------------------------------------------ the ranking


def expected_ranking(verdicts: list[Verdict]) -> list[Verdict]:
    """Best valid claim per competitor; more correct first, then the earlier commitment
    (receipt time), then the lower submission id — the site's published rule."""
    best: dict[str, Verdict] = {}

    def key(v: Verdict):
        return (-v.claimed, v.committed_at, v.submission_id)

    for v in verdicts:
        if v.ok and (v.competitor_id not in best or key(v) < key(best[v.competitor_id])):
            best[v.competitor_id] = v
    return sorted(best.values(), key=key)


def compare(board: list[dict], ranking: list[Verdict]) -> tuple[list[str], list[str]]:
    """(discrepancies, warnings) between the published rows and the recomputed ranking."""
    problems: list[str] = []
    warnings: list[str] = []
    by_competitor = {v.competitor_id: v for v in ranking}
    published_ids = set()
    for position, row in enumerate(board, start=1):
        who = f"rank {row.get('rank')} ({row.get('competitor')})"
        if row.get("rank") != position:
            problems.append(f"{who}: published as rank {row.get('rank')} at position {position}")
        cid = str(row.get("competitor_id"))
        published_ids.add(cid)
        mine = by_competitor.get(cid)
        if mine is None:
            problems.append(f"{who}: no verifiable entry of this competitor supports it")
            continue
        if row.get("submission_id") != mine.submission_id or row.get("claimed_count") != \
                mine.claimed:
            problems.append(f"{who}: shows submission #{row.get('submission_id')} with "
                            f"{row.get('claimed_count')} correct; the best verifiable entry is "
                            f"#{mine.submission_id} with {mine.claimed}")
    # The order: the published competitors, ranked by the rule, must come out as published.
    expected_order = [v.competitor_id for v in ranking if v.competitor_id in published_ids]
    published_order = [str(r.get("competitor_id")) for r in board
                       if str(r.get("competitor_id")) in by_competitor]
    if expected_order != published_order:
        for position, (want, got) in enumerate(zip(expected_order, published_order,
                                                   strict=False), start=1):
            if want != got:
                problems.append(f"the ranking differs from rank {position} on: expected "
                                f"{by_competitor[want].competitor}, published "
                                f"{by_competitor[got].competitor}")
                break
    for v in ranking:
        if v.competitor_id not in published_ids:
            warnings.append(f"{v.competitor} has a valid entry (#{v.submission_id}, "
                            f"{v.claimed} correct) that is not on the leaderboard (moderated?)")
    return problems, warnings


# ------------------------------------------------------------------ the command


def audit_bundle(path: Path, *, backend: str, jobs: int,
                 collected: list[str] | None = None) -> int:
    try:
        with zipfile.ZipFile(path) as bundle:
            manifest = json.loads(bundle.read(MANIFEST))
            x, y = _test_set(bundle)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, datasets.DatasetError) as exc:
        raise UsageError(f"{path} is not a zkarena audit archive: {exc}") from None
    if manifest.get("version") != BUNDLE_VERSION:
        raise UsageError(f"{path}: unsupported archive version {manifest.get('version')}")
    comp = manifest["competition"]
    problems = list(manifest.get("collected_problems") or []) if collected is None else \
        list(collected)
    print(f"auditing {comp['slug']} of {manifest['site']}: {len(manifest['submissions'])} "
          f"verified entries, {backend} backend, {jobs} job(s)", flush=True)
    # The test set against the salted digest published at the start.
    try:
        spec = CompetitionSpec.from_json(json.dumps(comp["spec"]))
        accuracy.check_test_set(spec, x, y, bytes.fromhex(manifest["test_set"]["salt"]))
    except (KeyError, TypeError, ValueError, SpecError, accuracy.TestSetError) as exc:
        print(f"DISCREPANCY: the revealed test set does not match the published salted "
              f"digest: {exc}")
        return EXIT_INVALID
    print(f"test set: {len(x)} samples match the salted digest {spec.test_set_digest.hex()[:16]}…")
    log_state, log_problems = _log_context(manifest)
    for p in log_problems:
        print(f"DISCREPANCY: {p}")
    problems += log_problems
    if log_state is not None and log_state[1] is not None:
        sth = log_state[0]
        print(f"log: signed head of {sth.head.tree_size} entries; the reveal is entry "
              f"{log_state[1]}" + ("; consistent with the head this machine witnessed"
                                   if (manifest.get("log") or {}).get("witnessed") and
                                   not log_problems else ""))
    if authorities_of(comp):
        print("timestamps: each commitment must carry an RFC 3161 token from "
              + ", ".join(a.name for a in authorities_of(comp)))
    else:
        print("timestamps: none listed: commit times are the site's word (receipt, log order)")
    if not manifest.get("receipt_key_pinned"):
        print(f"note: receipts are checked against the key the site serves "
              f"({manifest['receipt_key'][:16]}…); pin one with --receipt-key")

    records = manifest["submissions"]
    if jobs > 1 and len(records) > 1:
        # Fresh interpreters (spawn): the workers need only the proof library, and a fork of
        # a process with threads (a test server, a progress bar) is not safe.
        with ProcessPoolExecutor(max_workers=jobs, initializer=_load_context,
                                 mp_context=multiprocessing.get_context("spawn"),
                                 initargs=(str(path), backend)) as pool:
            verdicts = list(pool.map(_check_entry, records))
    else:
        _load_context(str(path), backend)
        verdicts = [_check_entry(r) for r in records]
    for v in sorted(verdicts, key=lambda v: v.submission_id):
        if v.ok:
            evidence = ("site's word only" if v.stamp.startswith("timestamp: none")
                        else "RFC 3161 timestamp")
            print(f"  #{v.submission_id} {v.competitor}: VALID, at least {v.claimed} correct, "
                  f"committed before the reveal ({evidence}) [{v.seconds:.2f} s]", flush=True)
        else:
            print(f"  #{v.submission_id} {v.competitor}: INVALID: {v.reason}", flush=True)
            problems.append(f"submission #{v.submission_id} ({v.competitor}), marked verified "
                            f"by the site: {v.reason}")
    ranking = expected_ranking(verdicts)
    board = manifest["leaderboard"]["rows"]
    ranking_problems, warnings = compare(board, ranking)
    problems += ranking_problems
    print()
    table([[str(i), v.competitor, f"{v.claimed}/{spec.num_samples}", f"#{v.submission_id}",
            utc_text(v.committed_at)] for i, v in enumerate(ranking, start=1)],
          ["RANK", "COMPETITOR", "CORRECT", "SUBMISSION", "COMMITTED"])
    for w in warnings:
        print(f"warning: {w}")
    if problems:
        print(f"\n{len(problems)} DISCREPANCIES:")
        for p in problems:
            print(f"  - {p}")
        return EXIT_INVALID
    print(f"\nCLEAN: all {len(verdicts)} verified entries re-verify and the published ranking "
          f"of {len(board)} is the one they give")
    return EXIT_OK


def cmd_audit(args) -> int:
    from .remote import check_slug, site_client

    jobs = args.jobs or 1
    if jobs < 1:
        raise UsageError("--jobs is at least 1")
    backend = args.backend or "reference"
    target = Path(args.target)
    if target.suffix == ".zip" and target.is_file():
        if args.bundle or args.url:
            raise UsageError("an archive is audited offline: --url and --bundle are for a site")
        return audit_bundle(target, backend=backend, jobs=jobs)
    slug = check_slug(args.target)
    _, site = site_client(args, login=False)
    if args.bundle:
        out = Path(args.bundle)
        problems = collect(site, slug, args.receipt_key, out)
        print(f"archive: {out} ({out.stat().st_size} bytes); `zkarena audit {out}` audits it "
              "again offline")
        return audit_bundle(out, backend=backend, jobs=jobs, collected=problems)
    with tempfile.TemporaryDirectory(prefix="zkarena-audit-") as tmp:
        out = Path(tmp) / "bundle.zip"
        problems = collect(site, slug, args.receipt_key, out)
        return audit_bundle(out, backend=backend, jobs=jobs, collected=problems)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run it as `zkarena audit`")
