"""Independent timestamps (RFC 3161) on commitments: evidence that a commitment existed
before the reveal that does not rest on the site's word.

A competition lists the timestamp authorities (TSAs) it accepts: a name, the URL to ask,
and the certificate of the authority's trust anchor (a root CA, optionally followed by
intermediates). At commit time the competitor's own ``zkarena commit`` asks one of them to
stamp

    message = "zkarena/commitment-timestamp" ‖ u16 version
              ‖ competition id (16) ‖ submitter id (16)
              ‖ architecture digest (32) ‖ commitment digest (32)

(the TSA sees only SHA-256(message)), checks the reply, and uploads it with the commitment.
Stamping the whole statement, not only C_W, freezes the architecture too (DESIGN §3).

:func:`check_token` is what the site, ``zkarena verify --submission`` and the audit run: the
response decodes and was granted; it stamps SHA-256(message) of *this* commitment; its
signature chains to one of the listed authorities (the token's certificate with the
critical id-kp-timeStamping usage, valid at the stamped time); and, given the reveal time,
the stamped time plus the TSA's stated accuracy is before it. Each failure says which.

Parsing and signature checks are rfc3161-client's (Trail of Bits; OpenSSL underneath);
this module only decides what must hold.
"""

from __future__ import annotations

import hashlib
import struct
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from .errors import InvalidInputError, VerificationError

MESSAGE_TAG = b"zkarena/commitment-timestamp"
VERSION = 1
MAX_TOKEN_BYTES = 64 * 1024
MAX_AUTHORITIES = 8
MAX_NAME = 100
MAX_URL = 500
MAX_CERTIFICATE_PEM = 32 * 1024
_GRANTED = (0, 1)  # PKIStatus granted, grantedWithMods


class TimestampError(VerificationError):
    """A timestamp token that does not show what it must (the message names the check;
    ``reason`` is one of "malformed", "not_granted", "wrong_digest", "unlisted_authority",
    "corrupted", "after_reveal")."""

    def __init__(self, message: str, reason: str = "malformed"):
        super().__init__(message)
        self.reason = reason


class AuthorityError(InvalidInputError):
    """A timestamp authority that cannot be listed (bad name, URL or certificate)."""


class AuthorityUnreachable(ConnectionError):
    """No answer from a timestamp authority (network, HTTP error, not a TSA reply)."""


def commitment_message(competition_id: uuid.UUID, submitter_id: uuid.UUID,
                       architecture_digest: bytes, commitment_digest: bytes) -> bytes:
    if len(architecture_digest) != 32 or len(commitment_digest) != 32:
        raise ValueError("the digests are 32 bytes")
    return b"".join([MESSAGE_TAG, struct.pack(">H", VERSION), competition_id.bytes,
                     submitter_id.bytes, architecture_digest, commitment_digest])  # fmt: skip


def token_digest(token: bytes) -> bytes:
    """What the commitment log records of a token: its SHA-256."""
    return hashlib.sha256(token).digest()


# ------------------------------------------------------------------ authorities


@dataclass(frozen=True)
class Authority:
    name: str
    url: str
    certificate_pem: str  # the trust anchor first, then any intermediates

    @property
    def certificates(self):
        from cryptography import x509

        try:
            certs = x509.load_pem_x509_certificates(self.certificate_pem.encode())
        except ValueError as exc:
            raise AuthorityError(f"{self.name}: the certificate is not PEM: {exc}") from None
        if not certs:
            raise AuthorityError(f"{self.name}: no certificate")
        return certs

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the trust anchor's DER encoding, hex: how people tell TSAs apart."""
        from cryptography.hazmat.primitives.serialization import Encoding

        return hashlib.sha256(self.certificates[0].public_bytes(Encoding.DER)).hexdigest()

    @property
    def subject(self) -> str:
        return self.certificates[0].subject.rfc4514_string()

    def to_dict(self) -> dict:
        return {"name": self.name, "url": self.url, "certificate": self.certificate_pem,
                "fingerprint": self.fingerprint}  # fmt: skip

    @classmethod
    def from_dict(cls, data) -> Authority:
        """Validated: a name, an http(s) URL, and PEM certificates that parse."""
        if not isinstance(data, dict):
            raise AuthorityError("a timestamp authority is an object with name, url, certificate")
        name, url, pem = data.get("name"), data.get("url"), data.get("certificate")
        if not isinstance(name, str) or not 0 < len(name.strip()) <= MAX_NAME:
            raise AuthorityError(f"a timestamp authority's name has 1 to {MAX_NAME} characters")
        if not isinstance(url, str) or len(url) > MAX_URL or not url.startswith(
            ("https://", "http://")
        ):
            raise AuthorityError(f"{name}: the URL must be http:// or https:// (tokens are "
                                 "signed, so plain http is safe for them)")
        if not isinstance(pem, str) or not 0 < len(pem) <= MAX_CERTIFICATE_PEM:
            raise AuthorityError(f"{name}: give its certificate in PEM (at most "
                                 f"{MAX_CERTIFICATE_PEM} bytes)")
        authority = cls(name.strip(), url, pem)
        authority.certificates  # noqa: B018 - parse now, refuse now
        return authority


def authorities_from_list(items) -> list[Authority]:
    if items is None:
        return []
    if not isinstance(items, list) or len(items) > MAX_AUTHORITIES:
        raise AuthorityError(f"list at most {MAX_AUTHORITIES} timestamp authorities")
    authorities = [Authority.from_dict(item) for item in items]
    if len({a.name for a in authorities}) != len(authorities):
        raise AuthorityError("two timestamp authorities have the same name")
    return authorities


def authorities_digest(authorities: list[Authority]) -> bytes | None:
    """What the reveal's log entry records of the list (None for no list)."""
    if not authorities:
        return None
    h = hashlib.sha256(b"zkarena/timestamp-authorities" + struct.pack(">H", VERSION))
    for a in authorities:
        for part in (a.name.encode(), a.url.encode(), a.certificate_pem.encode()):
            h.update(struct.pack(">I", len(part)) + part)
    return h.digest()


# ------------------------------------------------------------------ checking a token


@dataclass(frozen=True)
class Stamp:
    authority: Authority
    time: datetime
    accuracy: timedelta
    serial_number: int

    @property
    def latest(self) -> datetime:
        """The latest the stamped moment can be, given the TSA's stated accuracy."""
        return self.time + self.accuracy


def _decode(token: bytes):
    from rfc3161_client import decode_timestamp_response

    if not isinstance(token, bytes | bytearray) or not 0 < len(token) <= MAX_TOKEN_BYTES:
        raise TimestampError(f"a timestamp token is 1 to {MAX_TOKEN_BYTES} bytes")
    try:
        return decode_timestamp_response(bytes(token))
    except (ValueError, TypeError) as exc:
        raise TimestampError(f"the timestamp token is malformed or corrupted: {exc}") from None


def _accuracy(info) -> timedelta:
    try:
        acc = info.accuracy
    except (ValueError, AttributeError):
        return timedelta(0)
    if acc is None:
        return timedelta(0)
    return timedelta(seconds=acc.seconds or 0, milliseconds=acc.millis or 0,
                     microseconds=acc.micros or 0)  # fmt: skip


def _short(exc: Exception) -> str:
    text = str(exc)
    if "signature failure" in text:
        return "the signature does not verify (the token was altered or corrupted)"
    if "unable to get local issuer certificate" in text or "certificate verify error" in text:
        return "its certificate does not chain to this authority"
    return text[:200]


def check_token(token: bytes, message: bytes, authorities: list[Authority], *,
                before: datetime | None = None, nonce: int | None = None) -> Stamp:
    """The stamp ``token`` gives ``message``, checked; TimestampError names what fails."""
    from rfc3161_client import VerificationError as LibraryError
    from rfc3161_client import VerifierBuilder

    if not authorities:
        raise TimestampError("no timestamp authority is listed to check the token against")
    response = _decode(token)
    if response.status not in _GRANTED:
        raise TimestampError(f"the authority did not grant the timestamp (status "
                             f"{response.status})", "not_granted")
    try:
        info = response.tst_info
        imprint = info.message_imprint
        algorithm = imprint.hash_algorithm.dotted_string
        stamped, gen_time = imprint.message, info.gen_time
    except (ValueError, AttributeError) as exc:
        raise TimestampError(f"the timestamp token is malformed: {exc}") from None
    if algorithm != "2.16.840.1.101.3.4.2.1":
        raise TimestampError(f"the token stamps a hash of type {algorithm}; zkarena asks for "
                             "SHA-256", "wrong_digest")
    expected = hashlib.sha256(message).digest()
    if stamped != expected:
        raise TimestampError(f"the token stamps another digest ({stamped.hex()[:16]}…), not "
                             f"this commitment's ({expected.hex()[:16]}…)", "wrong_digest")
    failures = []
    for authority in authorities:
        certs = authority.certificates
        builder = VerifierBuilder().add_root_certificate(certs[0])
        for cert in certs[1:]:
            builder = builder.add_intermediate_certificate(cert)
        if nonce is not None:
            builder = builder.nonce(nonce)
        try:
            builder.build().verify(response, expected)
        except (LibraryError, ValueError) as exc:
            failures.append((authority, exc))
            continue
        stamp = Stamp(authority, gen_time, _accuracy(info), info.serial_number)
        if before is not None and stamp.latest >= before:
            raise TimestampError(
                f"{authority.name} stamped it at {gen_time.isoformat()} (± "
                f"{stamp.accuracy.total_seconds():g} s), not before the reveal at "
                f"{before.isoformat()}", "after_reveal")
        return stamp
    if any("signature failure" in str(exc) for _, exc in failures):
        raise TimestampError("the timestamp token's signature does not verify: it was altered "
                             "or corrupted", "corrupted")
    names = ", ".join(a.name for a, _ in failures)
    detail = "; ".join(f"{a.name}: {_short(exc)}" for a, exc in failures)
    raise TimestampError(f"the timestamp token is not signed by any of the competition's "
                         f"timestamp authorities ({names}): {detail}", "unlisted_authority")


# ------------------------------------------------------------------ asking for one


def request_token(authority: Authority, message: bytes, *, timeout: float = 30.0) -> bytes:
    """Ask ``authority`` to stamp SHA-256(message) (with a fresh nonce, asking for its
    certificate); the DER TimeStampResp, checked against the authority (and the nonce)."""
    from rfc3161_client import HashAlgorithm, TimestampRequestBuilder

    request = (TimestampRequestBuilder().data(message).hash_algorithm(HashAlgorithm.SHA256)
               .nonce(nonce=True).cert_request(cert_request=True).build())  # fmt: skip
    http = urllib.request.Request(  # noqa: S310 - an http(s) URL, checked when listed
        authority.url, data=request.as_bytes(), method="POST",
        headers={"Content-Type": "application/timestamp-query",
                 "Accept": "application/timestamp-reply", "User-Agent": "zkarena-cli"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(http, timeout=timeout) as reply:  # noqa: S310
            body = reply.read(MAX_TOKEN_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise AuthorityUnreachable(f"{authority.name} ({authority.url}) answered HTTP "
                                   f"{exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AuthorityUnreachable(f"cannot reach {authority.name} ({authority.url}): "
                                   f"{reason}") from None
    check_token(body, message, [authority], nonce=request.nonce)
    return body
