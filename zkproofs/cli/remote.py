"""Commands against a site: configuration and token, ``login``, ``competitions``, and the
site side of ``commit``, ``prove``, ``submit``, ``status``, ``leaderboard``,
``verify --submission``."""

from __future__ import annotations

import base64
import getpass
import hashlib
import json
import os
import re
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from .. import accuracy, timestamps
from .. import client as api
from ..competition import CompetitionSpec, SpecError
from ..errors import VerificationError
from ..formats import FormatError
from ..ml import datasets
from ..ml.architecture import ArchitectureError
from .common import (
    COMMITMENT_FILE_VERSION,
    EXIT_INVALID,
    EXIT_NETWORK,
    EXIT_OK,
    SLUG_RE,
    UsageError,
    commitment_document,
    write_private,
)
from .model import confirm_commit, quantized_model
from .output import print_submission, status_text, table, time_left, utc_text, verify_and_report
from .progress import ProgressBar
from .transparency import (
    Discrepancy,
    authorities_of,
    check_commitment_logged,
    check_consistent,
    check_reveal_logged,
    check_stamp,
    collect_entry,
    load_witness,
    log_line,
    token_digest_of,
    verified_head,
)


def config_path() -> Path:
    """ZKARENA_CONFIG, else $XDG_CONFIG_HOME/zkarena/config.json, else ~/.config/…"""
    if os.environ.get("ZKARENA_CONFIG"):
        return Path(os.environ["ZKARENA_CONFIG"]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "zkarena" / "config.json"


def load_config() -> dict | None:
    path = config_path()
    try:
        cfg = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the configuration {path}: {exc}") from None
    if not isinstance(cfg, dict) or not isinstance(cfg.get("url"), str):
        raise UsageError(f"{path} is not a zkarena configuration; run `zkarena login URL`")
    return cfg


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def save_config(cfg: dict) -> Path:
    """Written to a fresh 0600 file, then renamed over the old one: the token is a password."""
    path = config_path()
    _private_dir(path.parent)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(cfg, indent=2) + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def competition_dir(site_url: str, slug: str) -> Path:
    """Per site and competition: commitment records, secret key files, the test set."""
    netloc = re.sub(r"[^A-Za-z0-9.-]", "_", api.normalize_url(site_url).split("://", 1)[1])
    return config_path().parent / "sites" / netloc / slug


def check_slug(slug: str) -> str:
    if not SLUG_RE.match(slug):
        raise UsageError(f"{slug!r} is neither an existing file nor a competition slug")
    return slug


def site_client(args, *, login: bool) -> tuple[dict | None, api.Client]:
    """The client for this command: --url if given (anonymous unless it is the logged-in
    site), else the configured site with its token."""
    cfg = load_config()
    url = getattr(args, "url", None)
    try:
        if url:
            url = api.normalize_url(url)
            if cfg and api.normalize_url(cfg["url"]) == url:
                return cfg, api.Client(url, cfg.get("token"), timeout=args.timeout)
            if login:
                raise UsageError(f"not logged in to {url}: run `zkarena login {url}` first")
            return None, api.Client(url, timeout=args.timeout)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if cfg is None:
        raise UsageError("not logged in: run `zkarena login URL` first (or pass --url URL)")
    return cfg, api.Client(cfg["url"], cfg.get("token"), timeout=args.timeout)


def _parse_time(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise api.ServerError(f"the site sent a malformed time {text!r}") from None
    if when.tzinfo is None:
        raise api.ServerError(f"the site sent a time without a time zone: {text!r}")
    return when


def _spec_of(competition: dict) -> CompetitionSpec:
    if competition.get("spec") is None:
        raise UsageError(f"{competition.get('slug')} has no test set yet: nothing to commit to")
    try:
        return CompetitionSpec.from_json(json.dumps(competition["spec"]))
    except SpecError as exc:
        raise api.ServerError(f"the site published a malformed competition spec: {exc}") from None


def cmd_login(args) -> int:
    try:
        url = api.normalize_url(args.url)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    interactive = sys.stdin.isatty()
    username = args.username
    if not username:
        if not interactive:
            raise UsageError("pass --username when the input is not a terminal")
        username = input("username: ").strip()
    password = os.environ.get("ZKARENA_PASSWORD")
    if password is None:
        # Scripts pipe the password in; a terminal asks without echoing it.
        password = getpass.getpass("password: ") if interactive else sys.stdin.readline()
        password = password.rstrip("\r\n")
    if not username or not password:
        raise UsageError("a username and a password are needed")
    site = api.Client(url, timeout=args.timeout)
    try:
        token = site.obtain_token(username, password)
    except api.RefusedError as exc:
        if exc.status == 400:  # DRF answers bad credentials with 400
            raise api.AuthError(f"login to {url} failed: wrong username or password, or the "
                                "account is disabled", status=exc.status) from None
        raise
    me = api.Client(url, token, timeout=args.timeout).me()
    path = save_config({"url": url, "token": token, "username": me["username"],
                        "user_id": me["id"]})
    print(f"logged in to {url} as {me['username']} (account id {me['id']})")
    print(f"token saved in {path} (mode 0600)")
    return EXIT_OK


def cmd_competitions(args) -> int:
    _, site = site_client(args, login=False)
    items = site.competitions()
    if not items:
        print(f"no competitions at {site.base_url}")
        return EXIT_OK
    rows = [[c["slug"], c["phase"], str((c.get("test_set") or {}).get("num_samples") or "-"),
             c["threshold"], utc_text(c["reveal_at"]), utc_text(c["proof_deadline"]),
             _next_deadline(c), c["title"]]
            for c in items]
    table(rows, ["SLUG", "PHASE", "N", "THRESHOLD", "REVEAL", "PROOF DEADLINE", "TIME LEFT",
                 "TITLE"])
    return EXIT_OK


def _next_deadline(comp: dict) -> str:
    """What closes next, and when: 'commits 3 days 4 h', 'proofs 5 h 2 min', 'closed'."""
    if comp["phase"] == "open":
        return "commits " + time_left(comp["reveal_at"]).removeprefix("in ")
    if comp["phase"] == "revealed":
        return "proofs " + time_left(comp["proof_deadline"]).removeprefix("in ")
    return comp["phase"]


def receipt_from_record(spec_id: uuid.UUID, submitter: uuid.UUID, architecture: bytes,
                         commitment: bytes, receipt: dict):
    """The receipt as this machine computes it from the bytes it knows (never trusting the
    site's own digests), with the site's time; and the site's signature."""
    from datetime import timedelta

    from ..ml.architecture import Architecture
    from ..receipts import Receipt

    try:
        stamp = int(receipt["timestamp_us"])
        signature = bytes.fromhex(receipt["signature"])
    except (KeyError, TypeError, ValueError):
        raise api.ServerError("the site sent a malformed commitment receipt") from None
    when = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=stamp)
    rec = Receipt(spec_id, submitter, Architecture.from_bytes(architecture).digest(),
                  hashlib.sha256(commitment).digest(), when)
    return rec, signature


def _check_receipt(site_key_hex: str, rec, signature: bytes, backend: str) -> None:
    from ..receipts import verify_receipt

    try:
        key = bytes.fromhex(site_key_hex)
    except (TypeError, ValueError):
        raise api.ServerError("the site published a malformed receipt key") from None
    verify_receipt(key, rec, signature, backend=backend)


def commit_remote(args) -> int:
    slug = check_slug(args.competition)
    # A dry run only reads the public competition: no login needed, nothing uploaded.
    cfg, site = site_client(args, login=not args.dry_run)
    if not args.dry_run:
        me = site.me()  # checks the token before the slow part, and gives the submitter id
        submitter = uuid.UUID(me["id"])
    comp = site.competition(slug)
    spec = _spec_of(comp)
    if comp["phase"] != "open":
        message = (f"{slug} takes commitments until the reveal at {utc_text(comp['reveal_at'])}; "
                   f"it is now {comp['phase']}")
        if not args.dry_run:
            raise api.TimelineError(message, code="commitments_closed")
        print(f"note: {message}", file=sys.stderr)
    if (comp.get("test_set") or {}).get("digest") != spec.test_set_digest.hex():
        raise api.ServerError("the site's test-set digest and competition spec disagree")
    model, report = quantized_model(args, spec)
    arch = model.architecture
    try:
        arch.check_limits(max_parameters=comp.get("max_parameters"),
                          max_layers=comp.get("max_layers"))
    except ArchitectureError as exc:
        raise UsageError(f"{slug} does not accept this model: {exc}") from None
    if args.dry_run:
        print(f"dry run: nothing committed or uploaded to {slug}")
        return EXIT_OK
    cap = comp.get("commitment_cap")
    confirm_commit(args, report, slot_note=(
        f", using one of your {cap} commitment slots for {slug}" if cap else ""))
    try:
        committed = accuracy.commit_model(model, spec, submitter)
    except accuracy.CommitmentError as exc:
        raise UsageError(str(exc)) from None
    token = _obtain_timestamp(args, comp, spec, submitter, committed)
    folder = competition_dir(site.base_url, slug)
    _private_dir(folder)
    short = committed.commitment_digest.hex()[:16]
    key_path = Path(args.key) if args.key else folder / f"{short}.key"
    # The key is on disk before anything is uploaded: a registered commitment whose
    # opening was lost could never be proven, and would still count against the cap.
    write_private(str(key_path), committed.opening, args.force)
    try:
        record = site.register_commitment(slug, committed.architecture, committed.commitment,
                                          committed.knowledge_proof, token)
    except api.NetworkError:
        print(f"note: the upload may or may not have arrived; the key is kept in {key_path}",
              file=sys.stderr)
        raise
    except api.ClientError:
        key_path.unlink()  # refused: nothing was registered, the key opens nothing
        raise
    doc = commitment_document(spec, submitter, committed, arch)
    doc.update(site=site.base_url, competition=slug, commitment_id=record["id"],
               committed_at=record["created_at"], receipt=record["receipt"],
               key_file=str(key_path.resolve()), spec=json.loads(spec.to_json()))
    record_path = folder / f"commitment-{record['id']}.json"
    record_path.write_text(json.dumps(doc, indent=2) + "\n")
    if args.output:
        Path(args.output).write_text(json.dumps(doc, indent=2) + "\n")
    print(f"committed {arch.weight_count} parameters to {slug} as commitment #{record['id']} "
          f"({short}…) at {utc_text(record['created_at'])}")
    rec, signature = receipt_from_record(spec.competition_id, submitter,
                                          committed.architecture, committed.commitment,
                                          record["receipt"])
    try:
        _check_receipt(site.receipt_key()["public_key"], rec, signature, "native")
    except VerificationError as exc:
        print(f"WARNING: the site's receipt does not verify ({exc}); keep {record_path} as "
              "evidence", file=sys.stderr)
        return EXIT_INVALID
    print(f"receipt signed by the site, checked; saved with the record in {record_path}")
    print(f"secret key file: {key_path} (never upload it; `zkarena prove` needs it after "
          f"the reveal at {utc_text(comp['reveal_at'])})")
    return EXIT_OK


def _obtain_timestamp(args, comp: dict, spec, submitter, committed) -> bytes | None:
    """An RFC 3161 token over the commitment statement from the first listed authority that
    answers (None when the competition lists none); this machine's request, not the site's."""
    from ..ml.architecture import Architecture

    authorities = authorities_of(comp)
    if not authorities:
        print("note: this competition lists no timestamp authority: that you committed before "
              "the reveal will rest on the site's receipt and its log only")
        return None
    message = timestamps.commitment_message(
        spec.competition_id, submitter, Architecture.from_bytes(committed.architecture).digest(),
        committed.commitment_digest)  # fmt: skip
    failures = []
    for authority in authorities:
        try:
            token = timestamps.request_token(authority, message, timeout=args.timeout)
        except (timestamps.AuthorityUnreachable, timestamps.TimestampError) as exc:
            failures.append(f"{authority.name}: {exc}")
            continue
        stamp = timestamps.check_token(token, message, [authority])
        print(f"timestamp: {authority.name} stamped the commitment at "
              f"{utc_text(stamp.time.isoformat())} (RFC 3161, checked against its certificate)")
        return token
    raise api.NetworkError("no listed timestamp authority stamped the commitment, so nothing "
                           "was committed: " + "; ".join(failures))


def _local_commitments(site_url: str, slug: str) -> list[dict]:
    folder = competition_dir(site_url, slug)
    docs = []
    for path in sorted(folder.glob("commitment-*.json")):
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict) and doc.get("version") == COMMITMENT_FILE_VERSION:
            docs.append(doc)
    return sorted(docs, key=lambda d: d.get("commitment_id", 0))


def _pick_commitment(site_url: str, slug: str, wanted: str | None) -> dict:
    docs = _local_commitments(site_url, slug)
    if not docs:
        raise UsageError(f"no commitment to {slug} on this machine (looked in "
                         f"{competition_dir(site_url, slug)}); run `zkarena commit` first")
    if wanted is not None:
        for doc in docs:
            if str(doc.get("commitment_id")) == str(wanted):
                return doc
        raise UsageError(f"no local commitment #{wanted} to {slug}; yours: "
                         + ", ".join(f"#{d['commitment_id']}" for d in docs))
    if len(docs) > 1:
        raise UsageError(f"you have {len(docs)} commitments to {slug} ("
                         + ", ".join(f"#{d['commitment_id']}" for d in docs)
                         + "); choose one with --commitment ID")
    return docs[0]


def prove_remote(args) -> int:
    slug = check_slug(args.competition)
    _, site = site_client(args, login=False)
    doc = _pick_commitment(site.base_url, slug, args.commitment)
    try:
        spec = CompetitionSpec.from_json(json.dumps(doc["spec"]))
        submitter = uuid.UUID(doc["submitter_id"])
    except (KeyError, SpecError, ValueError):
        raise UsageError(f"the local record of commitment #{doc.get('commitment_id')} is "
                         "damaged") from None
    comp = site.competition(slug)
    if comp["phase"] == "open":
        raise api.TimelineError(f"the test set of {slug} is revealed at "
                                f"{utc_text(comp['reveal_at'])}; prove after that",
                                code="not_revealed")
    if comp["phase"] == "closed":
        raise api.TimelineError(f"{slug} stopped taking proofs at "
                                f"{utc_text(comp['proof_deadline'])}", code="proofs_closed")
    info = site.test_set(slug)
    if not info.get("salt"):
        raise api.TimelineError(f"the site has not revealed the test set of {slug} yet",
                                code="not_revealed")
    folder = competition_dir(site.base_url, slug)
    data_path = folder / "test-set.npz"
    data_path.write_bytes(site.download_test_set(slug))
    (folder / "test-set.salt").write_text(info["salt"] + "\n")
    try:
        salt = bytes.fromhex(info["salt"])
        x, y = datasets.load_npz(data_path)
        # Against the digest published when *this* commitment was made, kept locally:
        # a site that swapped the test set after the commitments would be caught here.
        x, y = accuracy.check_test_set(spec, x, y, salt)
    except (ValueError, datasets.DatasetError) as exc:
        raise UsageError(
            f"the revealed test set does not match the digest {spec.test_set_digest.hex()} "
            f"published when you committed: {exc}; refusing to prove") from None
    print(f"test set: {len(x)} samples match the salted digest published at the start "
          f"({spec.test_set_digest.hex()[:16]}…)")
    key_path = Path(args.key or doc["key_file"])
    try:
        opening = key_path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the key file {key_path}: {exc.strerror}") from None
    architecture = base64.b64decode(doc["architecture"])
    commitment = base64.b64decode(doc["commitment"])
    bar = ProgressBar()
    try:
        result = accuracy.prove_accuracy(spec, x, y, salt, submitter, architecture, commitment,
                                         opening, claimed=args.claim, progress=bar)
    except (accuracy.TestSetError, accuracy.CommitmentError, FormatError, ValueError) as exc:
        bar.close()
        raise UsageError(str(exc)) from None
    output = args.output or "proof.zkp"
    pct = 100 * result.claimed / result.num_samples
    data = result.to_bytes()
    Path(output).write_bytes(data)
    # The size of the whole file, as the site shows it once submitted.
    print(f"proved {result.claimed}/{result.num_samples} correct ({pct:.2f}%) for commitment "
          f"#{doc['commitment_id']}; wrote {output} ({len(data)} bytes)")
    print(f"next: zkarena submit {output}")
    return EXIT_OK


def _wait(site: api.Client, submission_id: int, seconds: float) -> int:
    """Poll until the verifier has decided: 0 verified, 1 rejected, 3 out of time or parked
    by platform faults (`error`: delayed, not a verdict)."""
    deadline = time.monotonic() + seconds
    last = None
    while True:
        sub = site.submission(submission_id)
        if sub["status"] != last:
            last = sub["status"]
            print(f"  status: {status_text(last)}", flush=True)
        if sub["status"] in ("verified", "rejected"):
            print_submission(sub)
            return EXIT_OK if sub["status"] == "verified" else EXIT_INVALID
        if sub["status"] == "error":
            # The platform's fault, not the proof's: a server-side error, not a rejection.
            print_submission(sub)
            return EXIT_NETWORK
        if time.monotonic() >= deadline:
            print(f"zkarena: still {sub['status']} after {seconds:.0f} s; check later with "
                  f"`zkarena status {submission_id}`", file=sys.stderr)
            return EXIT_NETWORK
        time.sleep(1.0)


def cmd_submit(args) -> int:
    _, site = site_client(args, login=True)
    try:
        data = Path(args.proof).read_bytes()
        container = accuracy.AccuracyProof.from_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot read {args.proof}: {exc.strerror}") from None
    except FormatError as exc:
        raise UsageError(f"{args.proof}: {exc}") from None
    # The proof names its commitment; find which competition that was on this machine.
    wanted = container.commitment_digest.hex()
    root = competition_dir(site.base_url, "x").parent
    slugs = [args.competition] if args.competition else sorted(
        p.name for p in root.glob("*") if p.is_dir())
    doc = next((d for slug in slugs for d in _local_commitments(site.base_url, slug)
                if d.get("commitment_digest") == wanted), None)
    slug = args.competition or (doc or {}).get("competition")
    if not slug:
        raise UsageError(f"{args.proof} is for a commitment this machine did not make; pass "
                         "--competition SLUG")
    sub = site.submit(check_slug(slug), data,
                      commitment_id=doc.get("commitment_id") if doc else None)
    print_submission(sub)
    if args.wait:
        return _wait(site, sub["id"], args.wait)
    print(f"the site verifies it in the background: zkarena status {sub['id']}")
    return EXIT_OK


def cmd_status(args) -> int:
    if args.submission_id is not None:
        _, site = site_client(args, login=False)
        if args.wait:
            return _wait(site, args.submission_id, args.wait)
        print_submission(site.submission(args.submission_id))
        return EXIT_OK
    _, site = site_client(args, login=True)
    me = site.me()
    commitment_rows, rows = [], []
    for comp in site.competitions():
        mine = site.commitments(comp["slug"], mine=True)
        subs = site.submissions(comp["slug"], mine=True)
        if not mine and not subs:
            continue
        left = max(0, comp["commitment_cap"] - len(mine))
        sub_left = max(0, comp["submission_limit"] - len(subs))
        commitment_rows.append([
            comp["slug"], comp["phase"], _next_deadline(comp),
            f"{len(mine)} ({left} left)" if comp["phase"] == "open" else str(len(mine)),
            f"{len(subs)} ({sub_left} left)",
            ", ".join(f"#{c['id']}" for c in mine) or "-",
        ])
        for sub in subs:
            rows.append([f"#{sub['id']}", comp["slug"], f"#{sub['commitment']}",
                         f"{sub['claimed_count']}/{sub['num_samples']}",
                         status_text(sub["status"]),
                         utc_text(sub["created_at"])])
    if not commitment_rows:
        print(f"{me['username']} has no commitment or submission yet")
        return EXIT_OK
    table(commitment_rows, ["COMPETITION", "PHASE", "TIME LEFT", "COMMITMENTS", "SUBMISSIONS",
                            "COMMITMENT IDS"])
    print()
    if not rows:
        print("no submissions yet")
        return EXIT_OK
    table(rows, ["ID", "COMPETITION", "COMMITMENT", "CLAIM", "STATUS", "SUBMITTED"])
    return EXIT_OK


def cmd_leaderboard(args) -> int:
    _, site = site_client(args, login=False)
    board = site.leaderboard(check_slug(args.slug))
    if args.json:
        print(json.dumps(board, indent=2))
        return EXIT_OK
    state = "final" if board.get("final") else "provisional"
    need = board.get("required_correct")
    print(f"leaderboard of {board['competition']} ({state}; a proof must show at least "
          f"{need}/{board.get('num_samples')} correct)")
    if not board["rows"]:
        print("  no verified entries yet")
        return EXIT_OK
    rows = [[str(r["rank"]), r["competitor"], f"{r['claimed_count']}/{r['num_samples']}",
             f"{r['accuracy_percent']}%", utc_text(r["committed_at"]), f"#{r['submission_id']}"]
            for r in board["rows"]]
    table(rows, ["RANK", "COMPETITOR", "CORRECT", "ACCURACY", "COMMITTED", "SUBMISSION"])
    return EXIT_OK


def verify_remote(args) -> int:
    """Re-check a public submission from the site's files alone, trusting none of the
    site's verdicts: the receipt signature and time, the test set against its published
    salted digest, and the proof itself (pure-Python reference backend by default)."""
    backend = args.backend or "reference"
    _, site = site_client(args, login=False)
    sub = site.submission(args.submission)
    try:
        spec = CompetitionSpec.from_json(json.dumps(sub["spec"]))
        record = sub["commitment_record"]
        submitter = uuid.UUID(record["competitor_id"])
        architecture = bytes.fromhex(record["architecture"])
        commitment = bytes.fromhex(record["commitment"])
    except (KeyError, TypeError, ValueError, SpecError) as exc:
        raise api.ServerError(f"the site's record of submission #{args.submission} is "
                              f"malformed: {exc}") from None
    slug = sub["competition"]
    comp = site.competition(slug)
    print(f"submission #{sub['id']} in {slug} by {sub['competitor']} ({submitter}): claims "
          f"{sub['claimed_count']}/{sub['num_samples']}; the site says {sub['status']}")
    data = site.download_proof(sub["id"])
    if hashlib.sha256(data).hexdigest() != sub.get("proof_sha256"):
        print("INVALID: the proof file does not match the SHA-256 the site recorded")
        return EXIT_INVALID

    # The receipt: the site's signature over (competition, submitter, architecture,
    # commitment, time), recomputed here from the bytes, and a time before the reveal.
    site_key = args.receipt_key or site.receipt_key()["public_key"]
    receipt = record.get("receipt") or {}
    if receipt.get("public_key") != site_key:
        print("INVALID: the commitment receipt was signed by a key the site does not publish "
              "(or the one you pinned with --receipt-key)")
        return EXIT_INVALID
    reveal_at = _parse_time(comp["reveal_at"])
    try:
        rec, signature = receipt_from_record(spec.competition_id, submitter, architecture,
                                              commitment, receipt)
        _check_receipt(site_key, rec, signature, backend)
    except (VerificationError, FormatError, ValueError) as exc:
        print(f"INVALID: commitment receipt: {exc}")
        return EXIT_INVALID
    if rec.committed_at >= reveal_at:
        print(f"INVALID: the receipt shows the commitment at {rec.committed_at.isoformat()}, "
              f"not before the reveal at {reveal_at.isoformat()}")
        return EXIT_INVALID
    print(f"receipt: signed by the site's key {site_key[:16]}…; committed "
          f"{utc_text(rec.committed_at.isoformat())}, before the reveal at "
          f"{utc_text(comp['reveal_at'])}")
    try:
        stamp_line = check_stamp(comp, record, rec, reveal_at)
    except Discrepancy as exc:
        print(f"INVALID: {exc}")
        return EXIT_INVALID
    print(stamp_line)

    info = site.test_set(slug)
    if not info.get("salt"):
        raise api.TimelineError(f"the test set of {slug} is not revealed yet",
                                code="not_revealed")
    test_set_bytes = site.download_test_set(slug)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "test-set.npz"
        path.write_bytes(test_set_bytes)
        try:
            x, y = datasets.load_npz(path)
            salt = bytes.fromhex(info["salt"])
            accuracy.check_test_set(spec, x, y, salt)
        except (ValueError, datasets.DatasetError) as exc:
            print(f"INVALID: the revealed test set does not match the salted digest "
                  f"{spec.test_set_digest.hex()} published at the start: {exc}")
            return EXIT_INVALID
    print(f"test set: {len(x)} samples match the salted digest "
          f"{spec.test_set_digest.hex()[:16]}… published at the start")
    try:
        print(_check_log(site, site_key, comp, record, spec, salt, rec, reveal_at))
    except Discrepancy as exc:
        print(f"INVALID: {exc}")
        return EXIT_INVALID
    if authorities_of(comp):
        print("commit before reveal: shown by an independent RFC 3161 timestamp, the site's "
              "signed receipt and its log")
    else:
        print("commit before reveal: the site's word only (its signed receipt and its log); no "
              "independent timestamp")
    try:
        container = accuracy.AccuracyProof.from_bytes(data)
    except FormatError as exc:
        print(f"INVALID: {exc}")
        return EXIT_INVALID
    return verify_and_report(spec, x, y, salt, submitter, architecture, commitment,
                              container, backend, expected_claim=sub["claimed_count"])


def _check_log(site: api.Client, site_key: str, comp: dict, record: dict, spec, salt: bytes,
               rec, reveal_at: datetime) -> str:
    """The commitment and the reveal in the site's signed log, in that order, and the log
    consistent with what this machine witnessed before (`zkarena witness`)."""
    sth = verified_head(site.log_head(), site_key)
    size = sth.head.tree_size
    commitment_index = check_commitment_logged(collect_entry(site, record.get("log_index"), size),
                                               sth, rec, token_digest_of(record))
    reveal_index = check_reveal_logged(collect_entry(site, comp.get("reveal_log_index"), size),
                                       sth, comp, spec, salt, reveal_at)
    line = log_line(commitment_index, reveal_index, sth)
    witnessed = load_witness(site.base_url)
    if witnessed and witnessed.get("heads"):
        old = witnessed["heads"][-1]
        proof = None
        if int(old["tree_size"]) <= size:
            proof = site.log_consistency(int(old["tree_size"]), size).get("consistency_path")
        check_consistent(old, sth, proof, witnessed.get("public_key") or site_key)
        line += f"; consistent with the log of {old['tree_size']} entries this machine witnessed"
    return line
