#!/usr/bin/env python3
"""A real RFC 3161 timestamp authority on this machine: OpenSSL's ``ts -reply`` behind a
small HTTP server (POST application/timestamp-query → application/timestamp-reply).

For the tests (tests/tsa.py starts one per test session, with keys made at run time) and
for trying the timestamped flow by hand or in the demo:

    python scripts/local_tsa.py --dir var/tsa --port 3161 --name "Local TSA"

creates a root CA and a timestamping certificate under --dir on first use (private keys
mode 0600; never commit them), prints the root certificate to list with a competition, and
serves until Ctrl-C. Nothing here is a mock: the tokens are OpenSSL's, signed with its own
clock, and anyone's RFC 3161 verifier accepts them against the printed root.

Needs the ``openssl`` command (Debian's openssl package; scripts/ensure-openssl.sh installs
it) and the ``cryptography`` package (a dependency of the project).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MAX_QUERY_BYTES = 64 * 1024

CONFIG = """\
[ tsa ]
default_tsa = zkarena_tsa

[ zkarena_tsa ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.16.1
digests = sha256, sha384, sha512
accuracy = secs:1
clock_precision_digits = 0
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


@dataclass(frozen=True)
class Authority:
    """A TSA's files: ``root.pem`` (the trust anchor to list), ``tsa.pem`` and its key."""

    folder: Path
    name: str

    @property
    def root_pem(self) -> str:
        return (self.folder / "root.pem").read_text()

    @property
    def config(self) -> Path:
        return self.folder / "openssl-ts.cnf"


def openssl() -> str:
    path = shutil.which("openssl")
    if path is None:
        raise RuntimeError("the openssl command is missing: run scripts/ensure-openssl.sh")
    return path


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def create_authority(folder: Path, name: str = "zkarena local TSA") -> Authority:
    """A root CA and a timestamping certificate it issued (EC P-256, critical EKU
    timeStamping, valid from a day ago for ten years); reused if ``folder`` has them."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder = Path(folder)
    authority = Authority(folder, name)
    if (folder / "tsa.pem").exists() and authority.config.exists():
        return authority
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    tsa_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} root CA")])
    tsa_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    valid = {"not_valid_before": now - timedelta(days=1),
             "not_valid_after": now + timedelta(days=3650)}  # fmt: skip
    root = (
        x509.CertificateBuilder(subject_name=root_name, issuer_name=root_name,
                                public_key=root_key.public_key(),
                                serial_number=x509.random_serial_number(), **valid)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=True, crl_sign=True,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()),
                       critical=False)
        .sign(root_key, hashes.SHA256())
    )  # fmt: skip
    tsa = (
        x509.CertificateBuilder(subject_name=tsa_name, issuer_name=root_name,
                                public_key=tsa_key.public_key(),
                                serial_number=x509.random_serial_number(), **valid)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                     key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=False, crl_sign=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
                       critical=False)
        .sign(root_key, hashes.SHA256())
    )  # fmt: skip
    pem = serialization.Encoding.PEM
    key_format = {"encoding": pem, "format": serialization.PrivateFormat.PKCS8,
                  "encryption_algorithm": serialization.NoEncryption()}  # fmt: skip
    _write_private(folder / "tsa.key", tsa_key.private_bytes(**key_format))
    (folder / "root.pem").write_bytes(root.public_bytes(pem))
    (folder / "tsa.pem").write_bytes(tsa.public_bytes(pem))
    # Each response carries the TSA's own certificate only (certReq): the verifier chains
    # it to the root it was given. (More certificates would have to be sorted as DER
    # requires for a SET OF, which OpenSSL does not do.)
    (folder / "serial").write_text("01\n")
    authority.config.write_text(CONFIG.format(dir=folder))
    # The root's key is not needed again: nothing else is ever issued.
    del root_key
    return authority


def reply(authority: Authority, query: bytes) -> bytes:
    """OpenSSL's TimeStampResp for a DER TimeStampReq (a refusal is a response too)."""
    with tempfile.TemporaryDirectory(prefix="tsa-") as tmp:
        q, r = Path(tmp) / "query.tsq", Path(tmp) / "reply.tsr"
        q.write_bytes(query)
        done = subprocess.run(  # noqa: S603 - fixed arguments, our own files
            [openssl(), "ts", "-reply", "-config", str(authority.config), "-queryfile", str(q),
             "-out", str(r)],
            capture_output=True, timeout=30, check=False,
        )  # fmt: skip
        if done.returncode != 0 or not r.exists():
            raise RuntimeError(f"openssl ts -reply failed: {done.stderr.decode(errors='replace')}")
        return r.read_bytes()


class _Handler(BaseHTTPRequestHandler):
    authority: Authority
    lock: threading.Lock

    def do_POST(self):  # noqa: N802 - the http.server API
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get_content_type() != "application/timestamp-query" or not (
            0 < length <= MAX_QUERY_BYTES
        ):
            self.send_error(400, "send an application/timestamp-query of at most 64 KiB")
            return
        query = self.rfile.read(length)
        try:
            with self.lock:  # the serial file is read and written by each reply
                body = reply(self.authority, query)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            self.send_error(500, str(exc)[:200])
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # quiet
        pass


@contextlib.contextmanager
def serve(authority: Authority, host: str = "127.0.0.1", port: int = 0):
    """Serve ``authority`` in a thread; yields its URL."""
    handler = type("Handler", (_Handler,), {"authority": authority, "lock": threading.Lock()})
    server = ThreadingHTTPServer((host, port), handler)
    thread = threading.Thread(target=server.serve_forever, name="local-tsa", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", default="var/tsa", help="keys, certificates, config (created once)")
    p.add_argument("--name", default="zkarena local TSA")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3161)
    args = p.parse_args(argv)
    authority = create_authority(Path(args.dir).resolve(), args.name)
    with serve(authority, args.host, args.port) as url:
        print(f"{authority.name} at {url}; root certificate {authority.folder / 'root.pem'}:")
        print(authority.root_pem, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
