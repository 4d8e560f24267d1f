"""The ``zkarena`` command line (a package: one module per command group).

Offline commands (files only, no site): ``competition init``, ``commit`` and ``prove``
with ``--competition competition.json``, ``verify proof.zkp …`` and ``bench``.

Against a site (the REST API of docs/platform.md, through :mod:`zkproofs.client`):
``login``, ``competitions``, ``commit``/``prove`` with ``--competition SLUG``, ``submit``,
``status``, ``leaderboard``, ``verify --submission ID``, ``audit`` and ``witness``; for organizers
``competition create``, ``upload-test-set``, ``upload-data`` and ``show``. The token
lives in the user's config file (mode 0600); secret key files stay next to it and are
never uploaded.
"""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from .. import client as api
from .audit import cmd_audit
from .common import EXIT_BAD_INPUT, EXIT_CODES_HELP, EXIT_NETWORK, UsageError
from .offline import cmd_commit, cmd_competition_init, cmd_prove, cmd_verify
from .organizer import (
    cmd_competition_create,
    cmd_competition_show,
    cmd_upload_data,
    cmd_upload_test_set,
)
from .remote import (
    cmd_competitions,
    cmd_leaderboard,
    cmd_login,
    cmd_status,
    cmd_submit,
)
from .transparency import cmd_witness


def cmd_bench(args) -> int:
    from . import bench

    return bench.main(args)


def timeout_option(p) -> None:
    p.add_argument("--timeout", type=float, default=api.DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"network timeout per request (default {api.DEFAULT_TIMEOUT:.0f})")


def site_options(p, *, url: bool = True) -> None:
    if url:
        p.add_argument("--url", help="the site (default: the one you logged in to); "
                       "anonymous unless it is that one")
    timeout_option(p)


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

    comp = sub.add_parser(
        "competition", help="organizer commands: init (offline), create, upload-test-set, "
        "upload-data, show")
    comp_sub = comp.add_subparsers(dest="competition_command", metavar="ACTION", required=True)
    init = comp_sub.add_parser(
        "init", help="describe a competition from its test set (publishes only a digest)"
    )
    init.add_argument("--test-set", required=True, help="TEST.npz with integer x and y, or CSV")
    init.add_argument("--classes", type=int, required=True, help="number of classes K")
    init.add_argument("--threshold", required=True, help="accuracy threshold, e.g. 0.9 or 9/10")
    init.add_argument("--input-scale", type=int, required=True,
                      help="integer steps per unit of the real input: a real value v is "
                      "published as the integer x = round(v·scale)")
    init.add_argument("--input-min", type=int, required=True,
                      help="the lowest integer any input may take (the declared domain; never "
                      "taken from the test data, whose extremes would leak before the reveal)")
    init.add_argument("--input-max", type=int, required=True,
                      help="the highest integer any input may take")
    budget_options(init)
    init.add_argument("--id", help="competition UUID (default: a new one)")
    init.add_argument("-o", "--output", required=True, help="competition.json to write")
    init.add_argument("--salt-out", help="where to keep the salt (default: <output>.salt)")
    init.add_argument("--force", action="store_true", help="overwrite an existing salt file")
    init.set_defaults(func=cmd_competition_init)

    create = comp_sub.add_parser(
        "create", help="create a competition on the site (a draft until its test set)",
        description="Create a competition on the site you are logged in to (organizer "
        "rights needed; the site's staff grant them). It stays a draft, visible to you "
        "only, until `upload-test-set`.",
    )
    create.add_argument("slug", help="SLUG used in URLs (letters, digits, - and _)")
    create.add_argument("--title", required=True)
    create.add_argument("--input-shape", required=True, help="per-sample shape: 64 or 1,28,28")
    create.add_argument("--input-min", type=int, required=True, help="lowest input integer")
    create.add_argument("--input-max", type=int, required=True, help="highest input integer")
    create.add_argument("--input-scale", type=int, default=1,
                        help="integer steps per unit of the real input (default 1): a real "
                        "value v is published as round(v * scale)")
    create.add_argument("--classes", type=int, required=True, help="number of classes")
    create.add_argument("--threshold", required=True, help="exact: 9/10 or 0.9")
    create.add_argument("--max-parameters", type=int, required=True)
    create.add_argument("--max-layers", type=int)
    create.add_argument("--commitment-cap", type=int, default=3,
                        help="commitments per competitor (default 3)")
    create.add_argument("--submission-limit", type=int, default=5,
                        help="submissions per competitor (default 5)")
    budget_options(create)
    # Not sent unless given: the site applies its defaults (the proof size also within its
    # upload limit).
    create.set_defaults(max_prove_seconds=None, max_verify_seconds=None, max_proof_bytes=None)
    create.add_argument("--reveal-at", required=True,
                        help="ISO 8601 with a time zone, e.g. 2030-06-01T12:00:00Z")
    create.add_argument("--proof-deadline", required=True, help="ISO 8601 with a time zone")
    create.add_argument("--description-file", help="overview, a Markdown file")
    create.add_argument("--rules-file", help="rules, a Markdown file")
    create.add_argument("--data-description-file", help="the data's description, Markdown")
    create.add_argument("--licence", help="the training data's licence, e.g. 'CC BY 4.0'")
    timeout_option(create)
    create.set_defaults(func=cmd_competition_create)

    upload_ts = comp_sub.add_parser(
        "upload-test-set", help="upload (or replace) the hidden test set; publishes its digest",
        description="Upload the test set (.npz with integer arrays x and y, or a CSV with the "
        "label first and an optional header row). Only its salted digest is public until the "
        "reveal; it can be replaced until the reveal while nobody has committed.",
    )
    upload_ts.add_argument("slug", help="competition SLUG")
    upload_ts.add_argument("file", help="TEST.npz or TEST.csv")
    timeout_option(upload_ts)
    upload_ts.set_defaults(func=cmd_upload_test_set)

    upload_data = comp_sub.add_parser(
        "upload-data", help="publish a training-data file (public with the competition)")
    upload_data.add_argument("slug", help="competition SLUG")
    upload_data.add_argument("file", help="any file: .npz, .csv, .zip, a baseline script")
    upload_data.add_argument("--name", help="the name people download (default: the file's)")
    upload_data.add_argument("--description", help="one line about the file")
    timeout_option(upload_data)
    upload_data.set_defaults(func=cmd_upload_data)

    show = comp_sub.add_parser("show", help="a competition's facts, timeline and data files")
    show.add_argument("slug", help="competition SLUG")
    show.add_argument("--json", action="store_true", help="the site's JSON as is")
    site_options(show)
    show.set_defaults(func=cmd_competition_show)

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
    timeout_option(login)
    login.set_defaults(func=cmd_login)

    comps = sub.add_parser("competitions", help="list the site's competitions")
    site_options(comps)
    comps.set_defaults(func=cmd_competitions)

    commit = sub.add_parser(
        "commit", help="quantize an ONNX model and commit to its weights",
        description="With --competition SLUG (logged in): fetch the competition, quantize, "
        "commit bound to your account, upload the architecture, the commitment and its "
        "proof of knowledge, and check the signed receipt. The secret key file stays on this "
        "machine (by default next to the config file, mode 0600). With --competition "
        "competition.json: offline, writing the commitment and key files (-o, --key, "
        "--submitter needed). The model is quantized for the competition's declared inputs "
        "(it sees x / input_scale); the report compares the float and quantized models on "
        "the calibration data, and a model that agrees on fewer than 99% of them is "
        "committed only after confirmation (or --yes). --dry-run stops after the report.",
    )
    commit.add_argument("model", help="MODEL.onnx")
    commit.add_argument("--competition", required=True,
                        help="a competition SLUG on the site, or an offline competition.json")
    commit.add_argument("--submitter", help="offline: your account's UUID")
    commit.add_argument("--calibration", help="CAL.npz with integer x (and y) from your data")
    commit.add_argument("--weight-bits", type=int,
                        help="weight width in bits (default: automatic, the narrowest of 8, 12 "
                        "and 16 whose calibration agreement with your float model reaches 99%%)")
    commit.add_argument("--dry-run", action="store_true",
                        help="quantize and print the report only: nothing is committed, "
                        "written or uploaded")
    commit.add_argument("-y", "--yes", action="store_true",
                        help="commit even if the quantized model agrees with the float model "
                        "on fewer than 99%% of the calibration samples (otherwise: ask, or "
                        "refuse off a terminal)")
    commit.add_argument("-o", "--output",
                        help="commitment.json to write (offline: required; site: a copy)")
    commit.add_argument("--key", help="secret key file to write, mode 0600 (offline: required; "
                        "site: default in the config folder)")
    commit.add_argument("--force", action="store_true",
                        help="overwrite an existing key file and commitment file")
    site_options(commit)
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
    site_options(prove, url=False)
    prove.set_defaults(func=cmd_prove, subparser=prove)

    submit = sub.add_parser("submit", help="upload a proof to the site")
    submit.add_argument("proof", help="proof.zkp from `zkarena prove`")
    submit.add_argument("--competition", help="SLUG (default: the competition of the "
                        "commitment the proof names, if it was made on this machine)")
    submit.add_argument("--wait", type=float, metavar="SECONDS",
                        help="wait for the verifier's verdict (exit 1 if rejected; 3 if out of "
                             "time or delayed by the platform)")
    site_options(submit, url=False)
    submit.set_defaults(func=cmd_submit)

    status = sub.add_parser("status", help="a submission's verification status, or all yours")
    status.add_argument("submission_id", nargs="?", type=int, metavar="SUBMISSION_ID")
    status.add_argument("--wait", type=float, metavar="SECONDS",
                        help="wait for the verdict (exit 1 if rejected; 3 if out of time "
                             "or delayed by the platform)")
    site_options(status)
    status.set_defaults(func=cmd_status)

    board = sub.add_parser("leaderboard", help="a competition's leaderboard")
    board.add_argument("slug", help="competition SLUG")
    board.add_argument("--json", action="store_true", help="the site's JSON as is")
    site_options(board)
    board.set_defaults(func=cmd_leaderboard)

    verify = sub.add_parser(
        "verify", help="check a proof (exit 0 valid, 1 invalid, 2 bad input, 3 network)",
        description="Offline: PROOF with --competition, --test-set, --commitment, --submitter "
        "checks the proof and the commitment's proof of knowledge; VALID then does NOT show "
        "that the commitment was made before the reveal unless a receipt is checked too "
        "(--receipt FILE, --receipt-key HEX, --reveal-at TIME). "
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
                        help="the site's receipt key obtained out of band (default: with "
                        "--submission the one /api/receipt-key/ serves; offline the one in "
                        "the receipt file, with a warning)")
    verify.add_argument("--receipt", metavar="FILE",
                        help="offline: the commitment's signed receipt to check (the record "
                        "`zkarena commit` saved, or the site's commitment JSON)")
    verify.add_argument("--reveal-at", metavar="TIME",
                        help="offline, with --receipt: the reveal time (ISO 8601 with a time "
                        "zone) the receipt must precede")
    verify.add_argument("--competition", help="competition.json")
    verify.add_argument("--test-set", help="the revealed TEST.npz")
    verify.add_argument("--salt-file", help="the revealed salt (default: <competition>.salt)")
    verify.add_argument("--commitment", help="commitment.json")
    verify.add_argument("--submitter", help="the submitter's UUID")
    verify.add_argument("--backend", choices=["native", "reference"],
                        help="group arithmetic: native (arkworks; offline default) or "
                        "reference (pure Python; default with --submission)")
    site_options(verify)
    verify.set_defaults(func=cmd_verify, subparser=verify)

    audit = sub.add_parser(
        "audit", help="re-verify every entry of a leaderboard and recompute its ranking",
        description="With SLUG (--url or the logged-in site): download every verified "
        "entry's proof, commitment record and signed receipt, the revealed test set and the "
        "leaderboard; re-verify all of them and recompute the ranking; report every "
        "discrepancy. --bundle FILE.zip keeps all of it in one archive; `zkarena audit "
        "FILE.zip` audits an archive offline. Exit 0 clean, 1 discrepancies.",
        epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    audit.add_argument("target", metavar="SLUG|ARCHIVE.zip",
                       help="a competition slug on the site, or an archive from --bundle")
    audit.add_argument("--bundle", metavar="OUT.zip",
                       help="keep everything downloaded in this archive")
    audit.add_argument("--backend", choices=["native", "reference"],
                       help="group arithmetic: reference (pure Python, default: independent "
                       "of the fast one) or native (arkworks, much faster)")
    audit.add_argument("--jobs", type=int, default=1, help="entries verified in parallel "
                       "(processes; default 1)")
    audit.add_argument("--receipt-key", metavar="HEX",
                       help="the site's receipt key obtained out of band (default: the one "
                       "/api/receipt-key/ serves)")
    site_options(audit)
    audit.set_defaults(func=cmd_audit)

    witness = sub.add_parser(
        "witness", help="watch a site's commitment log: catch rewritten or forked history",
        description="Fetch the site's signed tree head and check that it extends the last "
        "one this machine saw (RFC 9162 consistency proof); keep it in the witness record "
        "(witness/ next to the config file). A smaller tree, another root for the same size, "
        "or no valid proof means the site rewrote or forked its history: both signed heads "
        "are kept as evidence and the exit code is 1. Run it now and then (cron); `verify "
        "--submission` and `audit` check against the same record.",
        epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    witness.add_argument("url", help="the site, e.g. https://zkarena.example.org")
    witness.add_argument("--receipt-key", metavar="HEX",
                         help="the site's key obtained out of band (default: the one pinned "
                         "in the record on first use, else the one the site serves)")
    timeout_option(witness)
    witness.set_defaults(func=cmd_witness)

    bench = sub.add_parser(
        "bench", help="measure proving and verification on real workloads",
        description="Each (workload, N) runs in a fresh process: commit, prove (time and peak "
        "memory), then `zkarena verify` as a separate command (its whole wall time and peak "
        "memory). Workloads: digits-lr, digits-mlp, digits-cnn (scikit-learn's digits, "
        "N ≤ 360), mnist-mlp, mnist-lenet (MNIST-shaped 28×28 data made offline, N ≤ "
        "10,000); the CNNs are trained with PyTorch and imported from their ONNX export.",
    )
    bench.add_argument("--workloads", default="digits-lr,digits-mlp",
                       help="comma list (default digits-lr,digits-mlp)")
    bench.add_argument("--samples", default="360", help="comma list of N (default 360)")
    bench.add_argument("--json", action="store_true", help="one JSON object per line")
    bench.set_defaults(func=cmd_bench)
    return p


def budget_options(p) -> None:
    from ..competition import DEFAULT_BUDGET as d

    p.add_argument("--max-prove-seconds", type=int, default=d.prove_seconds,
                   help="refuse models estimated to take longer to prove at this N on the "
                   f"reference machine (default {d.prove_seconds})")
    p.add_argument("--max-verify-seconds", type=int, default=d.verify_seconds,
                   help=f"… longer to verify (default {d.verify_seconds})")
    p.add_argument("--max-proof-bytes", type=int, default=d.proof_bytes,
                   help=f"… a larger proof (default {d.proof_bytes:,})")


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
