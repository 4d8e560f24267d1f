"""The REST client's transport: the token goes only to the site it was given for, and
never in clear over the network."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from zkproofs import client as api


class _Site:
    """A local HTTP server that answers JSON, or redirects, and remembers what it got."""

    def __init__(self, host: str):
        self.received: list[dict] = []
        self.redirects: dict[str, str] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                site.received.append({"path": self.path, "headers": dict(self.headers)})
                if self.path in site.redirects:
                    self.send_response(302)
                    self.send_header("Location", site.redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps({"id": "x", "username": "alice"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://{host}:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def sites():
    started = []

    def start(host="127.0.0.1"):
        started.append(_Site(host))
        return started[-1]

    yield start
    for site in started:
        site.close()


def test_token_is_not_sent_to_another_host_after_a_redirect(sites):
    site, elsewhere = sites(), sites()
    # Another origin: "localhost" instead of 127.0.0.1, and another port.
    target = elsewhere.url.replace("127.0.0.1", "localhost") + "/api/me/"
    site.redirects["/api/me/"] = target
    assert api.Client(site.url, "secret-token").me()["username"] == "alice"
    assert site.received[0]["headers"]["Authorization"] == "Token secret-token"
    assert elsewhere.received and "Authorization" not in elsewhere.received[0]["headers"]


def test_token_follows_a_redirect_on_the_same_site(sites):
    site = sites()
    site.redirects["/api/me/"] = site.url + "/api/me/again/"
    api.Client(site.url, "secret-token").me()
    assert [r["path"] for r in site.received] == ["/api/me/", "/api/me/again/"]
    assert site.received[1]["headers"]["Authorization"] == "Token secret-token"


def test_a_redirect_to_plain_http_elsewhere_is_refused(sites):
    site = sites()
    site.redirects["/api/me/"] = "http://zkarena.example.org/api/me/"
    with pytest.raises(api.ServerError, match="plain http"):
        api.Client(site.url, "secret-token").me()
    assert len(site.received) == 1


@pytest.mark.parametrize(
    "url",
    [
        "https://zkarena.example.org",
        "https://zkarena.example.org:8443/prefix/",
        "http://localhost:8000",
        "http://127.0.0.1:8000",
        "http://127.0.0.2",
        "http://[::1]:8000",
        "http://site.localhost",
    ],
)
def test_https_anywhere_and_http_on_this_machine(url):
    assert api.normalize_url(url) == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    ["http://zkarena.example.org", "http://10.0.0.5:8000", "http://localhost.example.org"],
)
def test_plain_http_to_another_machine_is_refused(url):
    with pytest.raises(ValueError, match="plain http"):
        api.normalize_url(url)
    with pytest.raises(ValueError):
        api.Client(url, "secret-token")
