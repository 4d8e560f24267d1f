"""Organizer commands against a site: ``competition create``, ``upload-test-set``,
``upload-data`` and ``show`` (the REST API of docs/platform.md; the account needs
organizer rights, granted by the site's staff)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from .common import EXIT_OK, UsageError
from .output import table, time_left, utc_text
from .remote import check_slug, site_client

MAX_TEXT_FILE = 20_000  # the site's limit on descriptions and rules


def _text_file(path: str | None) -> str:
    if not path:
        return ""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text") from None
    if len(text) > MAX_TEXT_FILE:
        raise UsageError(f"{path} has {len(text)} characters; the site takes {MAX_TEXT_FILE}")
    return text


def _time(text: str, option: str) -> str:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} {text!r} is not an ISO 8601 time, e.g. "
                         "2030-06-01T12:00:00Z") from None
    if when.tzinfo is None:
        raise UsageError(f"{option} needs a time zone, e.g. 2030-06-01T12:00:00Z (UTC)")
    return when.isoformat()


def _shape(text: str) -> list[int]:
    try:
        dims = [int(part) for part in text.replace("x", ",").split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"--input-shape {text!r}: write it as integers, e.g. 64 or 1,28,28"
                         ) from None
    if not dims:
        raise UsageError("--input-shape needs at least one dimension")
    return dims


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


def cmd_competition_create(args) -> int:
    check_slug(args.slug)
    _, site = site_client(args, login=True)
    body = {
        "slug": args.slug,
        "title": args.title,
        "description": _text_file(args.description_file),
        "rules": _text_file(args.rules_file),
        "data_description": _text_file(args.data_description_file),
        "data_licence": args.licence or "",
        "input_shape": _shape(args.input_shape),
        "input_min": args.input_min,
        "input_max": args.input_max,
        "input_scale": args.input_scale,
        "num_classes": args.classes,
        "threshold": args.threshold,
        "max_parameters": args.max_parameters,
        "commitment_cap": args.commitment_cap,
        "submission_limit": args.submission_limit,
        "reveal_at": _time(args.reveal_at, "--reveal-at"),
        "proof_deadline": _time(args.proof_deadline, "--proof-deadline"),
    }
    if args.max_layers is not None:
        body["max_layers"] = args.max_layers
    for name in ("max_prove_seconds", "max_verify_seconds", "max_proof_bytes"):
        if getattr(args, name) is not None:
            body[name] = getattr(args, name)
    comp = site.create_competition(body)
    print(f"created {comp['slug']} ({comp['id']}), a draft until its test set is uploaded: "
          f"zkarena competition upload-test-set {comp['slug']} TEST.npz")
    if comp.get("page_url"):
        print(f"page: {comp['page_url']}")
    return EXIT_OK


def cmd_upload_test_set(args) -> int:
    slug = check_slug(args.slug)
    _, site = site_client(args, login=True)
    path = Path(args.file)
    if path.suffix.lower() not in (".npz", ".csv"):
        raise UsageError(f"{path}: the test set is an .npz (integer arrays x and y) or a .csv "
                         "(label first, an optional header row)")
    comp = site.upload_test_set(slug, path.name, _read(args.file))
    ts = comp.get("test_set") or {}
    print(f"test set of {slug} stored: {ts.get('num_samples')} samples; its salted digest "
          f"{ts.get('digest')} is public now, the data and the salt from the reveal at "
          f"{utc_text(comp['reveal_at'])}")
    return EXIT_OK


def cmd_upload_data(args) -> int:
    slug = check_slug(args.slug)
    _, site = site_client(args, login=True)
    path = Path(args.file)
    record = site.upload_data_file(slug, path.name, _read(args.file), name=args.name,
                                   description=args.description or "")
    print(f"published {record['name']} ({record['size']} bytes, SHA-256 "
          f"{record['sha256'][:16]}…) for {slug}: {record['download_url']}")
    return EXIT_OK


def cmd_competition_show(args) -> int:
    slug = check_slug(args.slug)
    _, site = site_client(args, login=False)
    comp = site.competition(slug)
    if args.json:
        print(json.dumps(comp, indent=2))
        return EXIT_OK
    ts = comp.get("test_set") or {}
    print(f"{comp['title']} ({comp['slug']}, id {comp['id']}) by {comp['organizer']}")
    print(f"  phase:          {comp['phase']}{_next(comp)}")
    print(f"  reveal:         {utc_text(comp['reveal_at'])} ({time_left(comp['reveal_at'])})")
    print(f"  proof deadline: {utc_text(comp['proof_deadline'])} "
          f"({time_left(comp['proof_deadline'])})")
    print(f"  input:          shape {comp['input_shape']}, integers in [{comp['input_min']}, "
          f"{comp['input_max']}], scale {comp['input_scale']} (models see x / "
          f"{comp['input_scale']})")
    print(f"  classes:        {comp['num_classes']}")
    need = comp.get("required_correct")
    print(f"  threshold:      {comp['threshold']}"
          + (f" (at least {need} of {ts.get('num_samples')})" if need else ""))
    print(f"  limits:         {comp['max_parameters']} parameters"
          + (f", {comp['max_layers']} layers" if comp.get("max_layers") else "")
          + f"; {comp['commitment_cap']} commitments and {comp['submission_limit']} "
          "submissions per competitor")
    if "max_prove_seconds" in comp:  # sites older than budgets do not publish one
        print(f"  budget:         {comp['max_prove_seconds']:,} s to prove, "
              f"{comp['max_verify_seconds']:,} s to verify, {comp['max_proof_bytes']:,} bytes "
              "of proof per model on the test set (estimated when a model is committed)")
    if ts:
        print(f"  test set:       {ts['num_samples']} samples, salted digest {ts['digest']}"
              + (f", salt {ts['salt']}" if ts.get("salt") else ", salt at the reveal"))
    else:
        print("  test set:       not uploaded (a draft)")
    files = comp.get("data_files") or []
    print(f"  data licence:   {comp.get('data_licence') or '(not stated)'}")
    if files:
        table([[f["name"], str(f["size"]), f["sha256"][:16] + "…", f["download_url"]]
               for f in files], ["  DATA FILE", "BYTES", "SHA-256", "URL"])
    else:
        print("  data files:     none")
    if comp.get("page_url"):
        print(f"  page:           {comp['page_url']}")
    return EXIT_OK


def _next(comp: dict) -> str:
    if comp["phase"] == "open":
        return f"; commitments close {time_left(comp['reveal_at'])}"
    if comp["phase"] == "revealed":
        return f"; proofs close {time_left(comp['proof_deadline'])}"
    return ""
