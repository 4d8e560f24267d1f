"""Writes to accounts: sign-up, API tokens, and moderation (bans, organizer rights)."""

from __future__ import annotations

import logging

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from rest_framework.authtoken.models import Token

from ..models import CONFUSABLE_MESSAGE, User, username_key
from .errors import Conflict, ErrorCode, InvalidInput, NotPermitted

log = logging.getLogger(__name__)


def sign_up(*, username: str, email: str, password: str) -> User:
    """A new competitor account (organizer rights are granted by staff).

    Usernames are ASCII, and one that differs from an existing one only by case or by
    look-alike characters ("Alice", "a1ice" next to "alice") is refused: leaderboards show
    names, and two that look alike are one name to a reader (``models.username_key``)."""
    candidate = User(username=username, email=email)
    try:
        User._meta.get_field("username").run_validators(username)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages), field="username") from None
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages), field="password") from None
    _require_distinct_name(username)
    try:
        with transaction.atomic():
            return User.objects.create_user(username=username, email=email, password=password)
    except IntegrityError:
        # A concurrent sign-up: the unique indexes (name, look-alike key) decided.
        _require_distinct_name(username)
        raise


def _require_distinct_name(username: str) -> None:
    if User.objects.filter(username=username).exists():
        raise Conflict("this username is taken", code=ErrorCode.USERNAME_TAKEN, field="username")
    if User.objects.filter(username_key=username_key(username)).exists():
        raise Conflict(CONFUSABLE_MESSAGE, code=ErrorCode.USERNAME_CONFUSABLE, field="username")


def token_for(user: User) -> Token:
    token, _ = Token.objects.get_or_create(user=user)
    return token


def rotate_token(user: User) -> Token:
    """A new API token; the old one stops working in the same transaction."""
    with transaction.atomic():
        Token.objects.filter(user=user).delete()
        return Token.objects.create(user=user)


def _require_staff(by: User) -> None:
    if not (by.is_active and by.is_staff):
        raise NotPermitted("only staff may moderate accounts")


def set_banned(user: User, *, by: User, banned: bool) -> User:
    """A ban deactivates the account: it can no longer log in or use its API token (the
    token is deleted), and its submissions leave the leaderboard. Its records stay."""
    _require_staff(by)
    if banned and user.pk == by.pk:
        raise InvalidInput("staff cannot ban themselves")
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        locked.is_active = not banned
        locked.save(update_fields=["is_active"])
        if banned:
            Token.objects.filter(user=locked).delete()
    log.info("user %s %s by %s", locked.username, "banned" if banned else "unbanned", by.username)
    return locked


def set_organizer(user: User, *, by: User, organizer: bool) -> User:
    _require_staff(by)
    User.objects.filter(pk=user.pk).update(is_organizer=organizer)
    user.refresh_from_db(fields=["is_organizer"])
    return user
