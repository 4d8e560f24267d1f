"""Who a client is (its address, never a header it chose), password guessing on the login
page and the token endpoint, sign-up limits, and usernames that look alike."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from competitions.models import User, username_key

pytestmark = pytest.mark.django_db

HIGH = "100000/minute"


@pytest.fixture
def rates(settings):
    def set_rates(**rates):
        settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, **rates}

    return set_rates


def _xff(i: int) -> dict:
    return {"HTTP_X_FORWARDED_FOR": f"203.0.113.{i}"}


# ------------------------------------------------------------------ client address (item 4)


def test_rotating_forwarded_for_does_not_make_a_new_client(client, rates, competition):
    rates(anon="5/minute")
    codes = [client.get("/api/competitions/", **_xff(i)).status_code for i in range(6)]
    assert codes == [200] * 5 + [429]


def test_rotating_forwarded_for_does_not_reset_password_attempts(client, users, rates):
    rates(auth="3/minute")
    for i in range(3):
        wrong = client.post("/api/auth/token/", {"username": "alice", "password": "no"}, **_xff(i))
        assert wrong.status_code == 400
    right = client.post(
        "/api/auth/token/", {"username": "alice", "password": "pw-alice"}, **_xff(9)
    )
    assert right.status_code == 429 and "token" not in right.json()


def test_behind_a_trusted_proxy_the_proxys_entry_names_the_client(client, rates, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    rates(anon="2/minute")

    def get(xff):
        return client.get("/api/receipt-key/", HTTP_X_FORWARDED_FOR=xff).status_code

    # The client may prepend anything; the proxy appends the address it saw, last.
    assert [get(f"198.51.100.{i}, 192.0.2.7") for i in range(3)] == [200, 200, 429]
    assert get("192.0.2.8") == 200  # another client behind the same proxy


# ------------------------------------------------------------------ password guessing (item 5)


def test_login_page_locks_the_account_after_failures(client, users, rates):
    rates(login_failures="5/hour")
    for _ in range(5):
        wrong = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
        assert wrong.status_code == 200  # the form again, "please enter a correct …"
    right = client.post(reverse("login"), {"username": "alice", "password": "pw-alice"})
    assert right.status_code == 429
    assert "too many failed logins" in right.content.decode()
    assert int(right["Retry-After"]) > 0
    assert not client.get("/").context["user"].is_authenticated
    # The API token endpoint honours the same lockout, also for the name in another case.
    api = client.post("/api/auth/token/", {"username": "ALICE", "password": "pw-alice"})
    assert api.status_code == 429 and api.json()["code"] == "locked_out"
    # Another account is not affected.
    assert (
        client.post(reverse("login"), {"username": "bob", "password": "pw-bob"}).status_code == 302
    )


def test_token_endpoint_failures_lock_the_login_page_too(client, users, rates):
    rates(login_failures="3/hour")
    for _ in range(3):
        assert (
            client.post("/api/auth/token/", {"username": "alice", "password": "x"}).status_code
            == 400
        )
    page = client.post(reverse("login"), {"username": "alice", "password": "pw-alice"})
    assert page.status_code == 429


def test_login_page_and_token_endpoint_share_the_address_budget(client, users, rates):
    rates(auth="3/minute")
    assert client.post(reverse("login"), {"username": "alice", "password": "x"}).status_code == 200
    assert client.post(reverse("login"), {"username": "bob", "password": "x"}).status_code == 200
    assert client.post("/api/auth/token/", {"username": "sam", "password": "x"}).status_code == 400
    page = client.post(reverse("login"), {"username": "olga", "password": "pw-olga"})
    assert page.status_code == 429 and "from your address" in page.content.decode()
    api = client.post("/api/auth/token/", {"username": "olga", "password": "pw-olga"})
    assert api.status_code == 429 and api.json()["code"] == "throttled"


def test_sign_up_is_throttled_per_address(client, rates):
    rates(signup="2/hour")

    def sign_up(name):
        return client.post(
            reverse("signup"),
            {"username": name, "password1": "a-long-pass-42", "password2": "a-long-pass-42"},
            **_xff(int.from_bytes(name.encode()) % 250),
        )

    assert sign_up("first").status_code == 302
    client.logout()
    assert sign_up("second").status_code == 302
    client.logout()
    third = sign_up("third")
    assert third.status_code == 429 and "too many accounts" in third.content.decode()
    assert not User.objects.filter(username="third").exists()


# ------------------------------------------------------------------ look-alike names (item 6)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("Alice", "too close"),  # case
        ("ALICE", "too close"),
        ("a1ice", "too close"),  # digit one for l
        ("aIice", "too close"),  # capital i for l
        ("\u0430lice", "unaccented"),  # Cyrillic а: usernames are ASCII
        ("ａｌｉｃｅ", "unaccented"),  # full width
    ],
)
def test_look_alike_usernames_are_refused(client, users, name, why):
    response = client.post(
        reverse("signup"),
        {"username": name, "password1": "a-long-pass-42", "password2": "a-long-pass-42"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors["username"]
    assert any(why in e for e in errors), errors
    assert User.objects.count() == 4


def test_distinct_names_still_register(client, users):
    response = client.post(
        reverse("signup"),
        {"username": "alice2", "password1": "a-long-pass-42", "password2": "a-long-pass-42"},
    )
    assert response.status_code == 302


def test_the_database_refuses_look_alike_names(users):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("Alice", "x@example.org", "pw")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("rnike", "x@example.org", "pw").save()
        User.objects.create_user("mike", "y@example.org", "pw")


def test_username_key():
    assert username_key("Alice") == username_key("alice") == username_key("a1ice")
    assert username_key("aIice") == username_key("alice")
    assert username_key("rnorn") == username_key("mom") == username_key("morn")
    assert username_key("ｂob") == username_key("bob")  # NFKC
    assert username_key("bob") != username_key("rob")
