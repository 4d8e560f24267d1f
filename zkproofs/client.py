"""A small client of the zkarena REST API (docs/platform.md), used by the ``zkarena``
command line. Standard library only, and no Django: a competitor installs ``zkproofs``
and talks to any site over HTTP.

Every failure becomes one of the typed errors below, with a message written for the
person at the terminal: the site's own ``detail`` (and per-field ``errors``) when it
answered in JSON, the reason the connection failed when it did not answer at all.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import secrets
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

DEFAULT_TIMEOUT = 60.0
# Refusals of the timeline (docs/platform.md, "Timeline"): the request was fine, only
# too early or too late. The CLI tells the user when to come back instead of what to fix.
TIMELINE_CODES = frozenset(
    {
        "not_open",
        "commitments_closed",
        "proofs_not_open",
        "proofs_closed",
        "not_revealed",
        "test_set_changed",
    }
)


class ClientError(Exception):
    """Base of every client failure; ``str(exc)`` is a complete, human-readable message."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 body: Any = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.body = body


class NetworkError(ClientError):
    """The site could not be reached: refused connection, unknown host, timeout, TLS."""


class ServerError(ClientError):
    """The site answered 5xx, or with something that is not the API's JSON."""


class IntegrityError(ServerError):
    """A download does not match the SHA-256 the site states for it (X-Content-SHA256):
    corrupted on the way, or the stored file was changed after it was recorded."""


class AuthError(ClientError):
    """401 (no or expired token, wrong credentials) or 403 (this account may not)."""


class NotFoundError(ClientError):
    """404: no such competition or submission, or one you may not see (drafts, hidden)."""


class TimelineError(ClientError):
    """A refusal because of the competition's phase (too early or too late)."""


class RefusedError(ClientError):
    """Any other 4xx: the request itself is wrong (invalid file, limit reached, …)."""


@dataclass(frozen=True)
class UploadFile:
    """One file of a multipart upload."""

    name: str
    data: bytes
    content_type: str = "application/octet-stream"


def _describe_body(body: Any) -> tuple[str, str | None]:
    """(message, code) from the API's error JSON: {"detail", "code", "errors", "field"}."""
    if not isinstance(body, dict):
        return "", None
    detail = str(body.get("detail") or "").strip()
    code = body.get("code") if isinstance(body.get("code"), str) else None
    parts = [detail] if detail else []
    if body.get("field"):
        parts.append(f"(field: {body['field']})")
    errors = body.get("errors")
    if isinstance(errors, dict):
        for name, problems in errors.items():
            items = problems if isinstance(problems, list) else [problems]
            text = "; ".join(str(p) for p in items)
            label = "" if name == "non_field_errors" else f"{name}: "
            parts.append(f"{label}{text}")
    if body.get("retry_after") is not None:
        parts.append(f"(retry after {body['retry_after']:.0f} s)")
    return " ".join(parts), code


def _error_for(status: int, body: Any, method: str, url: str) -> ClientError:
    message, code = _describe_body(body)
    if status >= 500:
        return ServerError(
            f"the site failed on {method} {url} [{status}]" + (f": {message}" if message else ""),
            status=status, code=code, body=body,
        )
    if not message:  # not the API's JSON (a proxy page, a wrong address): say so
        message = f"the site answered {status} to {method} {url}"
    text = f"{message} [{status} {code}]" if code else f"{message} [{status}]"
    kind = RefusedError
    if code in TIMELINE_CODES:
        kind = TimelineError
    elif status in (401, 403):
        kind = AuthError
    elif status == 404:
        kind = NotFoundError
    return kind(text, status=status, code=code, body=body)


def _multipart(fields: dict[str, str], files: dict[str, UploadFile]) -> tuple[bytes, str]:
    boundary = "zkarena-" + secrets.token_hex(16)
    chunks: list[bytes] = []
    for name, value in fields.items():
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + str(value).encode()
            + b"\r\n"
        )
    for name, f in files.items():
        head = (
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; "
            f"filename=\"{f.name}\"\r\nContent-Type: {f.content_type}\r\n\r\n"
        )
        chunks.append(head.encode() + f.data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to https (or http on this machine), and send the token only
    to the origin it was given for: urllib copies every header into the redirected request,
    Authorization included, whatever host the redirect names."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        try:
            _check_transport(newurl)
        except ValueError as exc:
            raise ServerError(
                f"{req.full_url} redirected to {newurl}; not followed: {exc}"
            ) from None
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None:
            token = req.unredirected_hdrs.get("Authorization")
            if token and _origin(newurl) == _origin(req.full_url):
                new.add_unredirected_header("Authorization", token)
        return new


# Authorization is an "unredirected" header (never copied by urllib itself); the handler
# above puts it back on same-origin redirects only.
_OPENER = urllib.request.build_opener(_SameOriginRedirects)


class Client:
    """One site (``base_url``, e.g. ``https://zkarena.example.org`` or
    ``http://127.0.0.1:8000``), optionally with a token."""

    def __init__(self, base_url: str, token: str | None = None, *,
                 timeout: float = DEFAULT_TIMEOUT):
        self.base_url = normalize_url(base_url)
        self.token = token
        self.timeout = timeout

    # ------------------------------------------------------------ transport

    def _url(self, path: str, query: dict[str, Any] | None = None) -> str:
        if path.startswith(("http://", "https://")):
            # Links the site hands back (pagination); never follow one to another host,
            # which would receive the token.
            if not path.startswith(self.base_url + "/"):
                raise ServerError(f"the site linked to {path}, outside {self.base_url}")
            url = path
        else:
            url = self.base_url + path
        if query:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(query)
        return url

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        json_body: Any = None,
        fields: dict[str, str] | None = None,
        files: dict[str, UploadFile] | None = None,
        raw: bool = False,
        auth: bool = True,
    ) -> Any:
        """Send one request; the decoded JSON answer (or the bytes with ``raw``)."""
        url = self._url(path, query)
        headers = {"Accept": "application/json", "User-Agent": "zkarena-cli"}
        data = None
        if files is not None or fields is not None:
            data, headers["Content-Type"] = _multipart(fields or {}, files or {})
        elif json_body is not None:
            data = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        # base_url passed normalize_url: https, or http on this machine only.
        req = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
        if auth and self.token:
            req.add_unredirected_header("Authorization", f"Token {self.token}")
        try:
            with _OPENER.open(req, timeout=self.timeout) as resp:
                payload = resp.read()
                headers_in = resp.headers
        except urllib.error.HTTPError as exc:
            payload = exc.read() if exc.fp is not None else b""
            raise _error_for(exc.code, _json_or_none(payload), method, url) from None
        except urllib.error.URLError as exc:
            raise NetworkError(f"cannot reach {self.base_url}: {_reason(exc.reason)}") from None
        except TimeoutError:
            raise NetworkError(
                f"{self.base_url} did not answer within {self.timeout:.0f} s"
            ) from None
        except (ConnectionError, OSError) as exc:
            raise NetworkError(f"connection to {self.base_url} failed: {exc}") from None
        if raw:
            expected = headers_in.get("X-Content-SHA256")
            if expected and hashlib.sha256(payload).hexdigest() != expected.lower():
                raise IntegrityError(
                    f"the download from {url} does not match the SHA-256 the site states "
                    "for it: incomplete, corrupted, or the stored file was changed"
                )
            return payload
        if not payload:
            return None
        body = _json_or_none(payload)
        if body is None:
            raise ServerError(f"{method} {url} did not answer with JSON; is {self.base_url} "
                              "a zkarena site?")
        return body

    def _list(self, path: str, query: dict[str, Any] | None = None) -> list[dict]:
        """Every item of a paginated list (LimitOffsetPagination: results + next)."""
        items: list[dict] = []
        page = self.request("GET", path, query=query)
        while True:
            if isinstance(page, list):
                return items + page
            if not isinstance(page, dict) or not isinstance(page.get("results"), list):
                raise ServerError(f"{path}: unexpected answer from the site")
            items += page["results"]
            if not page.get("next"):
                return items
            page = self.request("GET", page["next"])

    # ------------------------------------------------------------ accounts

    def obtain_token(self, username: str, password: str) -> str:
        body = self.request("POST", "/api/auth/token/",
                            json_body={"username": username, "password": password}, auth=False)
        if not isinstance(body, dict) or not isinstance(body.get("token"), str):
            raise ServerError("the token endpoint answered without a token")
        return body["token"]

    def me(self) -> dict:
        """The logged-in account: username and the immutable ``id`` (UUID) proofs bind to."""
        return self.request("GET", "/api/me/")

    def receipt_key(self) -> dict:
        return self.request("GET", "/api/receipt-key/")

    # ------------------------------------------------------------ competitions

    def competitions(self) -> list[dict]:
        return self._list("/api/competitions/")

    def competition(self, slug: str) -> dict:
        return self.request("GET", f"/api/competitions/{_slug(slug)}/")

    def create_competition(self, data: dict) -> dict:
        return self.request("POST", "/api/competitions/", json_body=data)

    def upload_test_set(self, slug: str, filename: str, data: bytes) -> dict:
        return self.request(
            "POST",
            f"/api/competitions/{_slug(slug)}/test-set/",
            files={"file": UploadFile(filename, data)},
            fields={"sha256": hashlib.sha256(data).hexdigest()},
        )

    def test_set(self, slug: str) -> dict:
        return self.request("GET", f"/api/competitions/{_slug(slug)}/test-set/")

    def download_test_set(self, slug: str) -> bytes:
        return self.request("GET", f"/api/competitions/{_slug(slug)}/test-set/data/", raw=True)

    def leaderboard(self, slug: str) -> dict:
        """The whole leaderboard: every page of rows, in rank order (the first page's
        other fields)."""
        path = f"/api/competitions/{_slug(slug)}/leaderboard/"
        board = self.request("GET", path, query={"limit": 1000})
        if not isinstance(board, dict) or not isinstance(board.get("rows"), list):
            raise ServerError(f"{path}: unexpected answer from the site")
        page = board
        while page.get("next"):
            page = self.request("GET", page["next"])
            if not isinstance(page, dict) or not isinstance(page.get("rows"), list):
                raise ServerError(f"{path}: unexpected answer from the site")
            board["rows"] += page["rows"]
        board["next"] = None
        return board

    def data_files(self, slug: str) -> list[dict]:
        return self._list(f"/api/competitions/{_slug(slug)}/data/")

    def upload_data_file(self, slug: str, filename: str, data: bytes, *,
                         name: str | None = None, description: str = "") -> dict:
        fields = {"sha256": hashlib.sha256(data).hexdigest(), "description": description}
        if name:
            fields["name"] = name
        return self.request(
            "POST",
            f"/api/competitions/{_slug(slug)}/data/",
            files={"file": UploadFile(filename, data)},
            fields=fields,
        )

    # ------------------------------------------------------------ commitments, submissions

    def register_commitment(self, slug: str, architecture: bytes, commitment: bytes,
                            knowledge_proof: bytes, timestamp_token: bytes | None = None) -> dict:
        files = {
            "architecture": UploadFile("architecture.bin", architecture),
            "commitment": UploadFile("commitment.bin", commitment),
            "knowledge_proof": UploadFile("knowledge_proof.bin", knowledge_proof),
        }
        if timestamp_token is not None:
            files["timestamp_token"] = UploadFile("token.tsr", timestamp_token,
                                                  "application/timestamp-reply")
        return self.request("POST", f"/api/competitions/{_slug(slug)}/commitments/",
                            files=files)

    # ------------------------------------------------------------ the commitment log

    def log_head(self) -> dict:
        return self.request("GET", "/api/log/", auth=False)

    def log_inclusion(self, index: int, tree_size: int) -> dict:
        return self.request("GET", "/api/log/inclusion/", auth=False,
                            query={"index": int(index), "tree_size": int(tree_size)})

    def log_consistency(self, first: int, second: int) -> dict:
        return self.request("GET", "/api/log/consistency/", auth=False,
                            query={"first": int(first), "second": int(second)})

    def log_entries(self, start: int, end: int) -> list[dict]:
        body = self.request("GET", "/api/log/entries/", auth=False,
                            query={"start": int(start), "end": int(end)})
        if not isinstance(body, dict) or not isinstance(body.get("entries"), list):
            raise ServerError("/api/log/entries/: unexpected answer from the site")
        return body["entries"]

    def commitments(self, slug: str, *, mine: bool = False) -> list[dict]:
        query = {"mine": 1} if mine else None
        return self._list(f"/api/competitions/{_slug(slug)}/commitments/", query)

    def submit(self, slug: str, proof: bytes, *, commitment_id: int | None = None) -> dict:
        fields = {"sha256": hashlib.sha256(proof).hexdigest()}
        if commitment_id is not None:
            fields["commitment"] = str(commitment_id)
        return self.request(
            "POST",
            f"/api/competitions/{_slug(slug)}/submissions/",
            files={"proof": UploadFile("proof.zkp", proof)},
            fields=fields,
        )

    def submissions(self, slug: str, *, mine: bool = False,
                    status: str | None = None) -> list[dict]:
        query: dict[str, Any] = {"limit": 1000}
        if mine:
            query["mine"] = 1
        if status:
            query["status"] = status
        return self._list(f"/api/competitions/{_slug(slug)}/submissions/", query)

    def submission(self, submission_id: int) -> dict:
        return self.request("GET", f"/api/submissions/{int(submission_id)}/")

    def download_proof(self, submission_id: int) -> bytes:
        return self.request("GET", f"/api/submissions/{int(submission_id)}/proof/", raw=True)


# ------------------------------------------------------------ helpers


def is_local_host(host: str) -> bool:
    """localhost, *.localhost or a loopback address: traffic that never leaves the machine."""
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_transport(url: str) -> None:
    """https anywhere; plain http only to this machine (a token or a password sent over
    http to another host can be read on the way)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname:
        if is_local_host(parts.hostname):
            return
        raise ValueError(
            f"{url} uses plain http:// to another machine; use https:// "
            "(http:// is accepted for localhost only)"
        )
    raise ValueError(f"{url!r} is not an http:// or https:// address")


def normalize_url(url: str) -> str:
    """``https://host[:port][/prefix]`` (or ``http://`` for localhost) without a trailing
    slash; anything else refused."""
    text = url.strip()
    if "://" not in text:
        raise ValueError(f"{url!r} is not a site address; give it as https://host[:port]")
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{url!r} is not an http:// or https:// address")
    _check_transport(text)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def _slug(slug: str) -> str:
    # Slugs are letters, digits, - and _; quoting keeps anything else from changing the path.
    return urllib.parse.quote(slug, safe="")


def _json_or_none(payload: bytes) -> Any:
    try:
        return json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _reason(reason: Any) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused (is the site running?)"
    if isinstance(reason, socket.gaierror):
        return f"unknown host ({reason.strerror})"
    if isinstance(reason, TimeoutError | socket.timeout):
        return "timed out"
    return str(getattr(reason, "strerror", None) or reason)
