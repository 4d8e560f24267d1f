"""What the command line checks of a site's commit times beyond its signed receipt: the RFC
3161 timestamp token (``zkproofs.timestamps``) and the append-only commitment log
(``zkproofs.commitlog``, RFC 9162 hashing), shared by ``verify --submission``, ``audit``
and ``witness``.

Collecting (network) and checking (offline) are separate, so that the audit can keep what
it downloaded in its archive and check it again without the site. Every check recomputes
the log entries from the bytes it knows (receipt, token, test-set digest, salt, reveal
time, listed authorities) and hashes them itself; the site's hashes are never trusted.

``zkarena witness URL`` keeps, per site, the signed tree heads it has seen (under the config
folder, ``witness/``) and checks each new head against the last one: same size and another
root, a smaller tree, or no valid consistency proof is a rewritten or forked history, and the
two signed heads are kept as evidence.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

from .. import client as api
from .. import commitlog, merkle, timestamps
from ..errors import FormatError, VerificationError
from ..receipts import Receipt
from .common import EXIT_INVALID, EXIT_OK, UsageError
from .output import utc_text

WITNESS_VERSION = 1
KEEP_HEADS = 200


class Discrepancy(Exception):
    """Evidence that does not show what it must; the message says what."""


# ------------------------------------------------------------------ the timestamp token


def authorities_of(competition: dict) -> list[timestamps.Authority]:
    try:
        return timestamps.authorities_from_list(competition.get("timestamp_authorities") or [])
    except timestamps.AuthorityError as exc:
        raise api.ServerError(f"the site lists a malformed timestamp authority: {exc}") from None


def check_stamp(competition: dict, record: dict, rec: Receipt, reveal_at: datetime) -> str:
    """The commitment's RFC 3161 stamp, checked: a line saying which guarantee it has."""
    authorities = authorities_of(competition)
    token_hex = record.get("timestamp_token")
    if not authorities:
        return ("timestamp: none (the competition lists no timestamp authority): that the "
                "commitment came before the reveal rests on the site's signed receipt and its "
                "log only")
    if not token_hex:
        raise Discrepancy("the competition requires an RFC 3161 timestamp on each commitment "
                          "and this one has none: its time is only the site's word")
    try:
        token = bytes.fromhex(token_hex)
    except (TypeError, ValueError):
        raise Discrepancy("the site's copy of the timestamp token is not hex") from None
    message = timestamps.commitment_message(rec.competition_id, rec.submitter_id,
                                            rec.architecture_digest, rec.commitment_digest)
    try:
        stamp = timestamps.check_token(token, message, authorities, before=reveal_at)
    except timestamps.TimestampError as exc:
        raise Discrepancy(f"timestamp token: {exc}") from None
    return (f"timestamp: {stamp.authority.name} (RFC 3161; root {stamp.authority.subject}, "
            f"SHA-256 {stamp.authority.fingerprint[:16]}…) stamped this commitment at "
            f"{utc_text(stamp.time.isoformat())}, before the reveal: independent of the site")


def token_digest_of(record: dict) -> bytes | None:
    token_hex = record.get("timestamp_token")
    try:
        return timestamps.token_digest(bytes.fromhex(token_hex)) if token_hex else None
    except ValueError:
        return None


# ------------------------------------------------------------------ collecting log evidence


def collect_entry(site: api.Client, index: int | None, tree_size: int) -> dict | None:
    """Entry ``index`` with its audit path in the tree of ``tree_size`` (None: not logged)."""
    if index is None or not 0 <= int(index) < tree_size:
        return None
    index = int(index)
    rows = site.log_entries(index, index + 1)
    if len(rows) != 1 or rows[0].get("index") != index:
        raise api.ServerError(f"the site did not serve log entry {index}")
    proof = site.log_inclusion(index, tree_size)
    return {"index": index, "data": rows[0].get("data"), "audit_path": proof.get("audit_path")}


def collect_head(site: api.Client) -> dict:
    return site.log_head()


# ------------------------------------------------------------------ checking log evidence


def verified_head(head: dict, public_key_hex: str, backend: str = "native"):
    try:
        sth = commitlog.SignedTreeHead.from_dict(head)
        sth.verify(bytes.fromhex(public_key_hex), backend)
    except (FormatError, VerificationError, ValueError) as exc:
        raise Discrepancy(f"the log's signed tree head: {exc}") from None
    return sth


def check_included(evidence: dict | None, sth, what: str) -> commitlog.Entry:
    """The entry the evidence shows in the signed tree, after checking its audit path."""
    if evidence is None:
        raise Discrepancy(f"{what} is not in the site's commitment log")
    try:
        data = bytes.fromhex(evidence["data"])
        entry = commitlog.decode_entry(data)
        path = commitlog.hashes_from_hex(evidence["audit_path"], "inclusion")
        merkle.verify_inclusion(int(evidence["index"]), sth.head.tree_size,
                                merkle.leaf_hash(data), path, sth.head.root_hash)
    except (KeyError, TypeError, ValueError, FormatError, VerificationError) as exc:
        raise Discrepancy(f"{what}: log entry {evidence.get('index')} is not in the signed "
                          f"tree of {sth.head.tree_size} entries: {exc}") from None
    return entry


def check_commitment_logged(evidence: dict | None, sth, rec: Receipt,
                            token_digest: bytes | None) -> int:
    entry = check_included(evidence, sth, "the commitment")
    expected = commitlog.CommitmentEntry.from_receipt(rec, token_digest)
    if entry != expected:
        raise Discrepancy(f"log entry {evidence['index']} is not this commitment as the receipt "
                          "and token state it (another time, token or commitment)")
    return int(evidence["index"])


def check_reveal_logged(evidence: dict | None, sth, competition: dict, spec, salt: bytes,
                        reveal_at: datetime) -> int:
    entry = check_included(evidence, sth, "the reveal")
    digest = timestamps.authorities_digest(authorities_of(competition)) or commitlog.NO_DIGEST
    wanted = {
        "kind": commitlog.EntryKind.REVEAL,
        "competition": spec.competition_id,
        "test-set digest": spec.test_set_digest,
        "salt": salt,
        "reveal time": reveal_at,
        "timestamp authorities": digest,
    }
    got = {
        "kind": entry.kind,
        "competition": getattr(entry, "competition_id", None),
        "test-set digest": getattr(entry, "test_set_digest", None),
        "salt": getattr(entry, "salt", None),
        "reveal time": getattr(entry, "reveal_at", None),
        "timestamp authorities": getattr(entry, "authorities_digest", None),
    }
    wrong = [name for name in wanted if wanted[name] != got[name]]
    if wrong:
        raise Discrepancy(f"log entry {evidence['index']} is not this competition's reveal as "
                          f"published ({', '.join(wrong)} differ)")
    return int(evidence["index"])


def log_line(commitment_index: int, reveal_index: int, sth) -> str:
    if commitment_index >= reveal_index:
        raise Discrepancy(f"the commitment is log entry {commitment_index}, after the reveal "
                          f"(entry {reveal_index}): it was registered after the reveal")
    return (f"log: entry {commitment_index} of the site's signed log ({sth.head.tree_size} "
            f"entries), before the reveal's entry {reveal_index}")


def check_consistent(old: dict, sth, proof: list | None, public_key_hex: str) -> None:
    """The tree ``sth`` extends the one ``old`` (a head seen before) signed."""
    old_sth = verified_head(old, public_key_hex)
    a, b = old_sth.head, sth.head
    try:
        if b.tree_size < a.tree_size:
            raise Discrepancy(f"the log shrank from {a.tree_size} to {b.tree_size} entries: "
                              "history was rewritten")
        path = commitlog.hashes_from_hex(proof or [], "consistency")
        merkle.verify_consistency(a.tree_size, b.tree_size, a.root_hash, b.root_hash, path)
    except (FormatError, VerificationError) as exc:
        raise Discrepancy(f"the log of {b.tree_size} entries does not extend the one of "
                          f"{a.tree_size} seen at {utc_text(a.timestamp.isoformat())}: {exc}; "
                          "the site rewrote or forked its history") from None


# ------------------------------------------------------------------ the witness record


def _netloc(url: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]", "_", api.normalize_url(url).split("://", 1)[1])


def witness_path(url: str) -> Path:
    from .remote import config_path

    return config_path().parent / "witness" / f"{_netloc(url)}.json"


def load_witness(url: str) -> dict | None:
    path = witness_path(url)
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the witness record {path}: {exc}") from None
    if not isinstance(record, dict) or record.get("version") != WITNESS_VERSION:
        raise UsageError(f"{path} is not a zkarena witness record")
    return record


def _save(path: Path, record: dict) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1) + "\n")
    tmp.replace(path)


def witness_check(site: api.Client, key_hex: str | None) -> tuple[dict, dict | None, list | None]:
    """(the site's current head, the last head witnessed, the consistency proof between
    them), fetched; the key pinned in the record wins over the one the site serves."""
    record = load_witness(site.base_url)
    head = collect_head(site)
    old = record["heads"][-1] if record else None
    proof = None
    if old is not None:
        first, second = int(old["tree_size"]), int(head.get("tree_size", -1))
        if 0 <= first <= second:
            proof = site.log_consistency(first, second).get("consistency_path")
    return head, old, proof


def cmd_witness(args) -> int:
    try:
        site = api.Client(args.url, timeout=args.timeout)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    record = load_witness(site.base_url)
    pinned = (record or {}).get("public_key")
    served = site.receipt_key()["public_key"]
    key = args.receipt_key or pinned or served
    if pinned and served != pinned:
        print(f"DETECTED: the site now signs with another key ({served[:16]}…) than the one "
              f"witnessed before ({pinned[:16]}…)")
        return EXIT_INVALID
    head, old, proof = witness_check(site, key)
    path = witness_path(site.base_url)
    try:
        sth = verified_head(head, key)
        if old is not None:
            check_consistent(old, sth, proof, key)
    except Discrepancy as exc:
        evidence = path.with_name(path.stem + f"-evidence-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json")
        _save(evidence, {"site": site.base_url, "public_key": key, "witnessed": old,
                         "served": head, "consistency_path": proof, "problem": str(exc)})
        print(f"DETECTED: {exc}")
        print(f"evidence (both signed heads) kept in {evidence}")
        return EXIT_INVALID
    seen = {**head, "seen_at": datetime.now(UTC).isoformat()}
    heads = ((record or {}).get("heads") or [])
    if not heads or heads[-1].get("root_hash") != head["root_hash"] or \
            heads[-1].get("tree_size") != head["tree_size"]:
        heads = [*heads, seen][-KEEP_HEADS:]
    _save(path, {"version": WITNESS_VERSION, "site": site.base_url, "public_key": key,
                 "heads": heads})
    if old is None:
        print(f"first look at {site.base_url}: its log has {sth.head.tree_size} entries, root "
              f"{sth.head.root_hash.hex()[:16]}…, signed by {key[:16]}…; kept in {path}")
    else:
        print(f"CONSISTENT: the log of {sth.head.tree_size} entries extends the one of "
              f"{old['tree_size']} witnessed at {utc_text(old.get('seen_at'))}; kept in {path}")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run it as `zkarena witness URL`")
