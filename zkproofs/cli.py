"""The ``zkarena`` command line.

Offline commands (files only, no site): ``competition init``, ``commit`` and ``prove``
with ``--competition competition.json``, ``verify proof.zkp …`` and ``bench``.

Against a site (the REST API of docs/platform.md, through :mod:`zkproofs.client`):
``login``, ``competitions``, ``commit``/``prove`` with ``--competition SLUG``, ``submit``,
``status``, ``leaderboard`` and ``verify --submission ID``. The token lives in the user's
config file (mode 0600); secret key files stay next to it and are never uploaded.
"""

from __future__ import annotations

import argparse
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

import numpy as np

from . import __version__, accuracy
from . import client as api
from .competition import CompetitionSpec, SpecError, parse_threshold
from .errors import VerificationError
from .formats import FormatError
from .ml import datasets
from .progress import ProgressBar

COMMITMENT_FILE_VERSION = 1
EXIT_OK, EXIT_INVALID, EXIT_BAD_INPUT, EXIT_NETWORK = 0, 1, 2, 3
EXIT_CODES_HELP = """exit codes:
  0  success (verify: the proof is VALID)
  1  the proof is INVALID (verify), or was rejected by the site (status/submit --wait)
  2  bad input or usage; a refusal by the site (wrong password, expired token, unknown
     competition, commitment after the reveal, proof before it, …)
  3  network or server error (site unreachable, timeout, 5xx), or --wait ran out of time
"""
SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]{1,64}$")


class UsageError(Exception):
    """Bad input from the user: reported on stderr with exit code 2."""


# ------------------------------------------------------------------ files


def _read_json(path: str) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} is not JSON: {exc}") from None


def load_spec(path: str) -> CompetitionSpec:
    try:
        return CompetitionSpec.from_json(Path(path).read_text())
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except SpecError as exc:
        raise UsageError(f"{path}: {exc}") from None


def default_salt_path(competition_path: str) -> Path:
    p = Path(competition_path)
    return p.with_name(p.stem + ".salt")


def load_salt(path: str | Path) -> bytes:
    try:
        text = Path(path).read_text().strip()
        salt = bytes.fromhex(text)
    except OSError as exc:
        raise UsageError(
            f"cannot read the test-set salt {path}: {exc.strerror} (the organizer publishes it "
            "with the test set at the reveal; pass it with --salt-file)"
        ) from None
    except ValueError:
        raise UsageError(f"{path} does not hold a hex salt") from None
    if len(salt) != datasets.SALT_BYTES:
        raise UsageError(f"{path}: a salt is {datasets.SALT_BYTES} bytes")
    return salt


def load_test_set(path: str):
    try:
        if path.endswith(".csv"):
            return datasets.load_csv(path)
        return datasets.load_npz(path)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except datasets.DatasetError as exc:
        raise UsageError(f"{path}: {exc}") from None


def write_private(path: str, data: bytes, force: bool) -> None:
    """Owner-only file (0600), never silently overwritten: a key file holds the weights."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise UsageError(f"{path} exists; pass --force to overwrite it") from None
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(obj: dict, key: str, path: str) -> bytes:
    try:
        return base64.b64decode(obj[key], validate=True)
    except (KeyError, ValueError, TypeError):
        raise UsageError(f"{path}: missing or malformed field {key!r}") from None


def commitment_document(spec, submitter, committed: accuracy.CommittedModel, arch) -> dict:
    return {
        "version": COMMITMENT_FILE_VERSION,
        "competition_id": str(spec.competition_id),
        "competition_digest": spec.digest().hex(),
        "submitter_id": str(submitter),
        "architecture": _b64(committed.architecture),
        "architecture_digest": arch.digest().hex(),
        "architecture_summary": arch.describe(),
        "parameters": arch.weight_count,
        "commitment": _b64(committed.commitment),
        "commitment_digest": committed.commitment_digest.hex(),
        "knowledge_proof": _b64(committed.knowledge_proof),
    }


def load_commitment(path: str) -> dict:
    doc = _read_json(path)
    if doc.get("version") != COMMITMENT_FILE_VERSION:
        raise UsageError(f"{path}: unsupported commitment file version {doc.get('version')}")
    return {
        "architecture": _unb64(doc, "architecture", path),
        "commitment": _unb64(doc, "commitment", path),
        "knowledge_proof": _unb64(doc, "knowledge_proof", path),
        "submitter_id": doc.get("submitter_id"),
    }


def _submitter(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise UsageError(f"the submitter id must be a UUID, got {text!r}") from None


# ------------------------------------------------------------------ commands


def cmd_competition_init(args) -> int:
    x, y = load_test_set(args.test_set)
    if args.classes < 2:
        raise UsageError("--classes must be at least 2")
    if int(y.max()) >= args.classes:
        raise UsageError(f"labels go up to {int(y.max())}; --classes {args.classes} is too few")
    lo = int(x.min()) if args.input_min is None else args.input_min
    hi = int(x.max()) if args.input_max is None else args.input_max
    if int(x.min()) < lo or int(x.max()) > hi:
        raise UsageError(
            f"test inputs lie in [{int(x.min())}, {int(x.max())}], outside [{lo}, {hi}]"
        )
    salt = datasets.new_salt()
    try:
        spec = CompetitionSpec(
            competition_id=uuid.UUID(args.id) if args.id else uuid.uuid4(),
            test_set_digest=datasets.salted_digest(x, y, salt),
            num_samples=len(x),
            num_classes=args.classes,
            input_shape=tuple(int(d) for d in x.shape[1:]),
            input_scale=args.input_scale,
            threshold=parse_threshold(args.threshold),
            input_range=(lo, hi),
        )
    except (SpecError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    salt_path = Path(args.salt_out) if args.salt_out else default_salt_path(args.output)
    Path(args.output).write_text(spec.to_json() + "\n")
    write_private(str(salt_path), (salt.hex() + "\n").encode(), args.force)
    print(f"competition {spec.competition_id}: {spec.num_samples} samples, "
          f"{spec.num_classes} classes, inputs {list(spec.input_shape)} in [{lo}, {hi}], "
          f"threshold {spec.threshold} (at least {spec.required_correct} correct)")
    print(f"wrote {args.output} (public) and {salt_path} (keep secret until the reveal)")
    return EXIT_OK


def _calibration(args, spec):
    if args.calibration:
        try:
            return datasets.load_npz(args.calibration, input_shape=tuple(spec.input_shape),
                                     num_classes=spec.num_classes,
                                     input_range=tuple(spec.input_range))
        except datasets.DatasetError as exc:
            raise UsageError(f"{args.calibration}: {exc}") from None
    # No data: spread inputs over the declared range (derived from a hash, not secret).
    print("note: no --calibration data; calibrating on synthetic inputs spread over the "
          "input range (real training data gives better shifts)", file=sys.stderr)
    n, size = 256, int(np.prod(spec.input_shape))
    raw = b"".join(hashlib.sha256(b"zkarena/calibration" + i.to_bytes(4, "big")).digest()
                   for i in range((n * size * 4) // 32 + 1))
    words = np.frombuffer(raw[: n * size * 4], dtype="<u4").astype(np.int64)
    lo, hi = spec.input_range
    x = lo + words % (hi - lo + 1)
    return x.reshape(n, *spec.input_shape), None


def _quantized_model(args, spec):
    """Load the ONNX model and quantize it for the competition's declared inputs."""
    from .ml.onnx_import import OnnxImportError, load_onnx
    from .ml.quantize import QuantizationError, quantize

    try:
        float_model = load_onnx(args.model)
    except OSError as exc:
        raise UsageError(f"cannot read {args.model}: {exc.strerror}") from None
    except OnnxImportError as exc:
        raise UsageError(f"{args.model}: {exc}") from None
    x_cal, y_cal = _calibration(args, spec)
    try:
        model, report = quantize(float_model, x_cal, y_cal, input_range=tuple(spec.input_range),
                                 weight_bits=args.weight_bits)
    except (QuantizationError, ValueError) as exc:
        raise UsageError(f"quantization failed: {exc}") from None
    print(report.summary())
    return model


def _require(args, command: str, *names: str) -> None:
    """Options required in the offline mode only: a usage error (argparse's, exit 2)."""
    missing = [f"--{n.replace('_', '-')}" for n in names if getattr(args, n) in (None, "")]
    if missing:
        args.subparser.error(f"offline `{command}` needs the arguments {', '.join(missing)}")


def cmd_commit(args) -> int:
    if not Path(args.competition).is_file():
        return _commit_remote(args)
    _require(args, "commit", "submitter", "output", "key")
    spec = load_spec(args.competition)
    submitter = _submitter(args.submitter)
    for path in (args.key, args.output):
        if Path(path).exists() and not args.force:
            raise UsageError(f"{path} exists; pass --force to overwrite it")
    model = _quantized_model(args, spec)
    try:
        committed = accuracy.commit_model(model, spec, submitter)
    except accuracy.CommitmentError as exc:
        raise UsageError(str(exc)) from None
    arch = model.architecture
    write_private(args.key, committed.opening, args.force)
    doc = commitment_document(spec, submitter, committed, arch)
    Path(args.output).write_text(json.dumps(doc, indent=2) + "\n")
    print(f"committed {arch.weight_count} parameters ({len(committed.commitment)} bytes); "
          f"commitment {committed.commitment_digest.hex()[:16]}…")
    print(f"wrote {args.output} (public) and {args.key} (secret: never upload it)")
    return EXIT_OK


def cmd_prove(args) -> int:
    if not Path(args.competition).is_file():
        return _prove_remote(args)
    _require(args, "prove", "test_set", "commitment", "key", "submitter", "output")
    spec = load_spec(args.competition)
    submitter = _submitter(args.submitter)
    x, y = load_test_set(args.test_set)
    salt = load_salt(args.salt_file or default_salt_path(args.competition))
    com = load_commitment(args.commitment)
    try:
        opening = Path(args.key).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the key file {args.key}: {exc.strerror}") from None
    bar = ProgressBar()
    try:
        result = accuracy.prove_accuracy(
            spec, x, y, salt, submitter, com["architecture"], com["commitment"], opening,
            claimed=args.claim, progress=bar,
        )
    except (accuracy.TestSetError, accuracy.CommitmentError, FormatError, ValueError) as exc:
        bar.close()
        raise UsageError(str(exc)) from None
    Path(args.output).write_bytes(result.to_bytes())
    pct = 100 * result.claimed / result.num_samples
    print(f"proved {result.claimed}/{result.num_samples} correct ({pct:.2f}%); "
          f"wrote {args.output} ({len(result.proof)} bytes)")
    return EXIT_OK


def cmd_verify(args) -> int:
    if args.submission is not None:
        if args.proof is not None:
            args.subparser.error("give either a proof file or --submission ID, not both")
        return _verify_remote(args)
    if args.proof is None:
        args.subparser.error("give a proof file (offline) or --submission ID (from a site)")
    _require(args, "verify", "competition", "test_set", "commitment", "submitter")
    args.backend = args.backend or "native"
    spec = load_spec(args.competition)
    submitter = _submitter(args.submitter)
    x, y = load_test_set(args.test_set)
    salt = load_salt(args.salt_file or default_salt_path(args.competition))
    com = load_commitment(args.commitment)
    try:
        container = accuracy.AccuracyProof.from_bytes(Path(args.proof).read_bytes())
    except OSError as exc:
        raise UsageError(f"cannot read {args.proof}: {exc.strerror}") from None
    except FormatError as exc:
        print(f"INVALID: {exc}")
        return EXIT_INVALID
    try:
        accuracy.check_test_set(spec, x, y, salt)
    except accuracy.TestSetError as exc:
        raise UsageError(str(exc)) from None
    return _verify_and_report(spec, x, y, salt, submitter, com["architecture"],
                              com["commitment"], container, args.backend)


def _verify_and_report(spec, x, y, salt, submitter, architecture, commitment, container,
                       backend, *, expected_claim=None) -> int:
    """Check a proof file in its context and print the verdict (shared by offline and
    --submission verification)."""
    try:
        container.check_context(spec, submitter, architecture, commitment)
        if expected_claim is not None and container.claimed != expected_claim:
            raise VerificationError("the proof file claims another count than the site shows")
        report = accuracy.verify_accuracy(
            spec, x, y, salt, submitter, architecture, commitment,
            container.claimed, container.proof, backend=backend,
        )
    except (VerificationError, FormatError, accuracy.CommitmentError, ValueError) as exc:
        print(f"INVALID: {exc}")
        return EXIT_INVALID
    pct = 100 * report.correct / report.num_samples
    verdict = "meets" if report.meets_threshold else "does NOT meet"
    print(f"VALID: the committed model labels at least {report.correct}/{report.num_samples} "
          f"test samples correctly ({pct:.2f}%); {verdict} the threshold {spec.threshold} "
          f"[{backend} backend, {report.seconds:.2f} s]")
    return EXIT_OK


# ------------------------------------------------------------------ the site: configuration


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


def _check_slug(slug: str) -> str:
    if not SLUG_RE.match(slug):
        raise UsageError(f"{slug!r} is neither an existing file nor a competition slug")
    return slug


def _site(args, *, login: bool) -> tuple[dict | None, api.Client]:
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


def _when(text: str | None) -> str:
    if not text:
        return "-"
    try:
        return datetime.fromisoformat(text).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return text


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


def _table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


# ------------------------------------------------------------------ the site: commands


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
    _, site = _site(args, login=False)
    items = site.competitions()
    if not items:
        print(f"no competitions at {site.base_url}")
        return EXIT_OK
    rows = [[c["slug"], c["phase"], str((c.get("test_set") or {}).get("num_samples") or "-"),
             c["threshold"], _when(c["reveal_at"]), _when(c["proof_deadline"]), c["title"]]
            for c in items]
    _table(rows, ["SLUG", "PHASE", "N", "THRESHOLD", "REVEAL", "PROOF DEADLINE", "TITLE"])
    return EXIT_OK


def _receipt_from_record(spec_id: uuid.UUID, submitter: uuid.UUID, architecture: bytes,
                         commitment: bytes, receipt: dict):
    """The receipt as this machine computes it from the bytes it knows (never trusting the
    site's own digests), with the site's time; and the site's signature."""
    from datetime import timedelta

    from .ml.architecture import Architecture
    from .receipts import Receipt

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
    from .receipts import verify_receipt

    try:
        key = bytes.fromhex(site_key_hex)
    except (TypeError, ValueError):
        raise api.ServerError("the site published a malformed receipt key") from None
    verify_receipt(key, rec, signature, backend=backend)


def _commit_remote(args) -> int:
    slug = _check_slug(args.competition)
    cfg, site = _site(args, login=True)
    me = site.me()  # checks the token before the slow part, and gives the submitter id
    submitter = uuid.UUID(me["id"])
    comp = site.competition(slug)
    spec = _spec_of(comp)
    if comp["phase"] != "open":
        raise api.TimelineError(
            f"{slug} takes commitments until the reveal at {_when(comp['reveal_at'])}; "
            f"it is now {comp['phase']}", code="commitments_closed")
    if (comp.get("test_set") or {}).get("digest") != spec.test_set_digest.hex():
        raise api.ServerError("the site's test-set digest and competition spec disagree")
    model = _quantized_model(args, spec)
    try:
        committed = accuracy.commit_model(model, spec, submitter)
    except accuracy.CommitmentError as exc:
        raise UsageError(str(exc)) from None
    arch = model.architecture
    folder = competition_dir(site.base_url, slug)
    _private_dir(folder)
    short = committed.commitment_digest.hex()[:16]
    key_path = Path(args.key) if args.key else folder / f"{short}.key"
    # The key is on disk before anything is uploaded: a registered commitment whose
    # opening was lost could never be proven, and would still count against the cap.
    write_private(str(key_path), committed.opening, args.force)
    try:
        record = site.register_commitment(slug, committed.architecture, committed.commitment,
                                          committed.knowledge_proof)
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
          f"({short}…) at {_when(record['created_at'])}")
    rec, signature = _receipt_from_record(spec.competition_id, submitter,
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
          f"the reveal at {_when(comp['reveal_at'])})")
    return EXIT_OK


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


def _prove_remote(args) -> int:
    slug = _check_slug(args.competition)
    _, site = _site(args, login=False)
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
                                f"{_when(comp['reveal_at'])}; prove after that",
                                code="not_revealed")
    if comp["phase"] == "closed":
        raise api.TimelineError(f"{slug} stopped taking proofs at "
                                f"{_when(comp['proof_deadline'])}", code="proofs_closed")
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
    Path(output).write_bytes(result.to_bytes())
    pct = 100 * result.claimed / result.num_samples
    print(f"proved {result.claimed}/{result.num_samples} correct ({pct:.2f}%) for commitment "
          f"#{doc['commitment_id']}; wrote {output} ({len(result.proof)} bytes)")
    print(f"next: zkarena submit {output}")
    return EXIT_OK


def _print_submission(sub: dict) -> None:
    print(f"submission #{sub['id']} in {sub['competition']} by {sub['competitor']}: "
          f"claims {sub['claimed_count']}/{sub['num_samples']}, status {sub['status']}")
    for line in (sub.get("verification_log") or "").strip().splitlines():
        print(f"  verifier: {line}")
    if sub.get("page_url"):
        print(f"  page: {sub['page_url']}")


def _wait(site: api.Client, submission_id: int, seconds: float) -> int:
    """Poll until the verifier has decided: 0 verified, 1 rejected, 3 out of time."""
    deadline = time.monotonic() + seconds
    last = None
    while True:
        sub = site.submission(submission_id)
        if sub["status"] != last:
            last = sub["status"]
            print(f"  status: {last}", flush=True)
        if sub["status"] in ("verified", "rejected"):
            _print_submission(sub)
            return EXIT_OK if sub["status"] == "verified" else EXIT_INVALID
        if time.monotonic() >= deadline:
            print(f"zkarena: still {sub['status']} after {seconds:.0f} s; check later with "
                  f"`zkarena status {submission_id}`", file=sys.stderr)
            return EXIT_NETWORK
        time.sleep(1.0)


def cmd_submit(args) -> int:
    _, site = _site(args, login=True)
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
    sub = site.submit(_check_slug(slug), data,
                      commitment_id=doc.get("commitment_id") if doc else None)
    _print_submission(sub)
    if args.wait:
        return _wait(site, sub["id"], args.wait)
    print(f"the site verifies it in the background: zkarena status {sub['id']}")
    return EXIT_OK


def cmd_status(args) -> int:
    if args.submission_id is not None:
        _, site = _site(args, login=False)
        if args.wait:
            return _wait(site, args.submission_id, args.wait)
        _print_submission(site.submission(args.submission_id))
        return EXIT_OK
    _, site = _site(args, login=True)
    rows = []
    for comp in site.competitions():
        for sub in site.submissions(comp["slug"], mine=True):
            rows.append([f"#{sub['id']}", comp["slug"], f"{sub['claimed_count']}/"
                         f"{sub['num_samples']}", sub["status"], _when(sub["created_at"])])
    if not rows:
        print("you have no submissions")
        return EXIT_OK
    _table(rows, ["ID", "COMPETITION", "CLAIM", "STATUS", "SUBMITTED"])
    return EXIT_OK


def cmd_leaderboard(args) -> int:
    _, site = _site(args, login=False)
    board = site.leaderboard(_check_slug(args.slug))
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
             f"{r['accuracy_percent']}%", _when(r["committed_at"]), f"#{r['submission_id']}"]
            for r in board["rows"]]
    _table(rows, ["RANK", "COMPETITOR", "CORRECT", "ACCURACY", "COMMITTED", "SUBMISSION"])
    return EXIT_OK


def _verify_remote(args) -> int:
    """Re-check a public submission from the site's files alone, trusting none of the
    site's verdicts: the receipt signature and time, the test set against its published
    salted digest, and the proof itself (pure-Python reference backend by default)."""
    backend = args.backend or "reference"
    _, site = _site(args, login=False)
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
        rec, signature = _receipt_from_record(spec.competition_id, submitter, architecture,
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
          f"{_when(rec.committed_at.isoformat())}, before the reveal at "
          f"{_when(comp['reveal_at'])}")

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
        container = accuracy.AccuracyProof.from_bytes(data)
    except FormatError as exc:
        print(f"INVALID: {exc}")
        return EXIT_INVALID
    return _verify_and_report(spec, x, y, salt, submitter, architecture, commitment,
                              container, backend, expected_claim=sub["claimed_count"])


def cmd_bench(args) -> int:
    from . import bench

    return bench.main(args)


# ------------------------------------------------------------------ parser


def _timeout(p) -> None:
    p.add_argument("--timeout", type=float, default=api.DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"network timeout per request (default {api.DEFAULT_TIMEOUT:.0f})")


def _site_options(p, *, url: bool = True) -> None:
    if url:
        p.add_argument("--url", help="the site (default: the one you logged in to); "
                       "anonymous unless it is that one")
    _timeout(p)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="zkarena",
        description="Commit to a hidden model and prove its accuracy in zero knowledge, "
        "offline or against a zkarena site.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"zkarena {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    comp = sub.add_parser("competition", help="organizer commands")
    comp_sub = comp.add_subparsers(dest="competition_command", metavar="ACTION", required=True)
    init = comp_sub.add_parser(
        "init", help="describe a competition from its test set (publishes only a digest)"
    )
    init.add_argument("--test-set", required=True, help="TEST.npz with integer x and y, or CSV")
    init.add_argument("--classes", type=int, required=True, help="number of classes K")
    init.add_argument("--threshold", required=True, help="accuracy threshold, e.g. 0.9 or 9/10")
    init.add_argument("--input-scale", type=int, default=1,
                      help="integer steps per unit of the real input (default 1)")
    init.add_argument("--input-min", type=int, help="declared lowest input (default: data min)")
    init.add_argument("--input-max", type=int, help="declared highest input (default: data max)")
    init.add_argument("--id", help="competition UUID (default: a new one)")
    init.add_argument("-o", "--output", required=True, help="competition.json to write")
    init.add_argument("--salt-out", help="where to keep the salt (default: <output>.salt)")
    init.add_argument("--force", action="store_true", help="overwrite an existing salt file")
    init.set_defaults(func=cmd_competition_init)

    login = sub.add_parser(
        "login", help="log in to a site and keep its API token (config file, mode 0600)",
        description="Exchange a username and password for an API token, stored in "
        "$ZKARENA_CONFIG, else $XDG_CONFIG_HOME/zkarena/config.json, else "
        "~/.config/zkarena/config.json (mode 0600). The password comes from "
        "$ZKARENA_PASSWORD, else from standard input (one line) when it is not a terminal, "
        "else a prompt.",
    )
    login.add_argument("url", help="the site, e.g. http://127.0.0.1:8000")
    login.add_argument("--username", help="account name (prompted on a terminal)")
    _timeout(login)
    login.set_defaults(func=cmd_login)

    comps = sub.add_parser("competitions", help="list the site's competitions")
    _site_options(comps)
    comps.set_defaults(func=cmd_competitions)

    commit = sub.add_parser(
        "commit", help="quantize an ONNX model and commit to its weights",
        description="With --competition SLUG (logged in): fetch the competition, quantize, "
        "commit bound to your account, upload the architecture, the commitment and its "
        "proof of knowledge, and check the signed receipt. The secret key file stays on this "
        "machine (by default next to the config file, mode 0600). With --competition "
        "competition.json: offline, writing the commitment and key files (-o, --key, "
        "--submitter needed).",
    )
    commit.add_argument("model", help="MODEL.onnx")
    commit.add_argument("--competition", required=True,
                        help="a competition SLUG on the site, or an offline competition.json")
    commit.add_argument("--submitter", help="offline: your account's UUID")
    commit.add_argument("--calibration", help="CAL.npz with integer x (and y) from your data")
    commit.add_argument("--weight-bits", type=int, default=8, help="weight width (default 8)")
    commit.add_argument("-o", "--output",
                        help="commitment.json to write (offline: required; site: a copy)")
    commit.add_argument("--key", help="secret key file to write, mode 0600 (offline: required; "
                        "site: default in the config folder)")
    commit.add_argument("--force", action="store_true",
                        help="overwrite an existing key file and commitment file")
    _site_options(commit, url=False)
    commit.set_defaults(func=cmd_commit, subparser=commit)

    prove = sub.add_parser(
        "prove", help="prove the committed model's accuracy",
        description="With --competition SLUG, after the reveal: download the test set and its "
        "salt, check them against the salted digest published when you committed, and prove "
        "(writes proof.zkp by default). With --competition competition.json: offline.",
    )
    prove.add_argument("--competition", required=True,
                       help="a competition SLUG on the site, or an offline competition.json")
    prove.add_argument("--test-set", help="offline: the revealed TEST.npz")
    prove.add_argument("--salt-file", help="offline: the revealed salt "
                       "(default: <competition>.salt)")
    prove.add_argument("--commitment", help="offline: commitment.json; site: the commitment "
                       "id (needed only if you made several)")
    prove.add_argument("--key", help="the secret key file from `commit` (site: found locally)")
    prove.add_argument("--submitter", help="offline: your account's UUID")
    prove.add_argument("--claim", type=int,
                       help="claimed number of correct predictions (default: all of them)")
    prove.add_argument("-o", "--output", help="proof file to write (site: default proof.zkp)")
    _site_options(prove, url=False)
    prove.set_defaults(func=cmd_prove, subparser=prove)

    submit = sub.add_parser("submit", help="upload a proof to the site")
    submit.add_argument("proof", help="proof.zkp from `zkarena prove`")
    submit.add_argument("--competition", help="SLUG (default: the competition of the "
                        "commitment the proof names, if it was made on this machine)")
    submit.add_argument("--wait", type=float, metavar="SECONDS",
                        help="wait for the verifier's verdict (exit 1 if rejected)")
    _site_options(submit, url=False)
    submit.set_defaults(func=cmd_submit)

    status = sub.add_parser("status", help="a submission's verification status, or all yours")
    status.add_argument("submission_id", nargs="?", type=int, metavar="SUBMISSION_ID")
    status.add_argument("--wait", type=float, metavar="SECONDS",
                        help="wait for the verdict (exit 1 if rejected, 3 if out of time)")
    _site_options(status)
    status.set_defaults(func=cmd_status)

    board = sub.add_parser("leaderboard", help="a competition's leaderboard")
    board.add_argument("slug", help="competition SLUG")
    board.add_argument("--json", action="store_true", help="the site's JSON as is")
    _site_options(board)
    board.set_defaults(func=cmd_leaderboard)

    verify = sub.add_parser(
        "verify", help="check a proof (exit 0 valid, 1 invalid, 2 bad input, 3 network)",
        description="Offline: PROOF with --competition, --test-set, --commitment, --submitter. "
        "From a site: --submission ID re-verifies a public submission from the site's files "
        "alone: the proof (reference backend by default), the server-signed commitment "
        "receipt against the site's receipt key and before the reveal, and the test set "
        "against the salted digest published at the start.",
        epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verify.add_argument("proof", nargs="?", help="proof.zkp (offline)")
    verify.add_argument("--submission", type=int, metavar="ID",
                        help="re-verify submission ID of the site (--url or the logged-in one)")
    verify.add_argument("--receipt-key", metavar="HEX",
                        help="with --submission: the site's receipt key obtained out of band "
                        "(default: the one /api/receipt-key/ serves)")
    verify.add_argument("--competition", help="competition.json")
    verify.add_argument("--test-set", help="the revealed TEST.npz")
    verify.add_argument("--salt-file", help="the revealed salt (default: <competition>.salt)")
    verify.add_argument("--commitment", help="commitment.json")
    verify.add_argument("--submitter", help="the submitter's UUID")
    verify.add_argument("--backend", choices=["native", "reference"],
                        help="group arithmetic: native (arkworks; offline default) or "
                        "reference (pure Python; default with --submission)")
    _site_options(verify)
    verify.set_defaults(func=cmd_verify, subparser=verify)

    bench = sub.add_parser("bench", help="measure proving on digits models and synthetic R1CS")
    bench.add_argument("--models", default="lr,mlp", help="comma list of lr, mlp (default both)")
    bench.add_argument("--samples", default="10,100,360", help="comma list of N")
    bench.add_argument("--r1cs", default="",
                       help="log2 sizes of synthetic R1CS to measure instead, e.g. 12,14,16,18")
    bench.add_argument("--json", action="store_true", help="one JSON object per line")
    bench.set_defaults(func=cmd_bench)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"zkarena: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (api.NetworkError, api.ServerError) as exc:
        print(f"zkarena: error: {exc}", file=sys.stderr)
        return EXIT_NETWORK
    except api.AuthError as exc:
        hint = ""
        if exc.status == 401:
            hint = "\nzkarena: your token is missing, expired or revoked: run `zkarena login URL`"
        print(f"zkarena: error: {exc}{hint}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except api.TimelineError as exc:
        print(f"zkarena: error: too early or too late: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except api.ClientError as exc:  # not found, refused (invalid upload, limits, …)
        print(f"zkarena: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("zkarena: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
