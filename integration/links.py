"""Signed links a customer holds: the portal link (expiring) and the unsubscribe link (not).

Signed with `server.secret_key` (itsdangerous, a salt per purpose, so one kind of token is never
accepted as another). The portal link carries its own expiry, checked against the caller's `now`
rather than the wall clock, so tests and the scheduler agree on time.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer

from integration.ports import LoyaltyError

PORTAL_LINK_DAYS = 90  # long enough to outlive a reminder cycle (28 days) twice over
PORTAL_SALT = "portal-link"
FORM_SALT = "portal-form"
UNSUBSCRIBE_SALT = "unsubscribe"


class LinkInvalidError(LoyaltyError):
    """Forged, truncated or for another purpose: show nothing."""


class LinkExpiredError(LoyaltyError):
    """Genuine but too old: the customer needs a fresh link (emails carry one)."""

    def __init__(self, shop_id: int, member_id: int):
        super().__init__("this link has expired")
        self.shop_id, self.member_id = shop_id, member_id


@dataclass(frozen=True, slots=True)
class MemberRef:
    shop_id: int
    member_id: int


def _serializer(secret: str, salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=salt)


def portal_token(secret: str, shop_id: int, member_id: int, now: datetime,
                 days: int = PORTAL_LINK_DAYS) -> str:
    expires = int((now + timedelta(days=days)).timestamp())
    return _serializer(secret, PORTAL_SALT).dumps([shop_id, member_id, expires])


def read_portal_token(secret: str, token: str, now: datetime) -> MemberRef:
    """The member a portal token names; raises LinkInvalidError or LinkExpiredError."""
    try:
        shop_id, member_id, expires = _serializer(secret, PORTAL_SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        raise LinkInvalidError("this link is not valid") from None
    if not all(isinstance(v, int) for v in (shop_id, member_id, expires)):
        raise LinkInvalidError("this link is not valid")
    if now.timestamp() > expires:
        raise LinkExpiredError(shop_id, member_id)
    return MemberRef(shop_id, member_id)


def portal_url(base_url: str, secret: str, shop_id: int, member_id: int, now: datetime) -> str:
    return f"{base_url.rstrip('/')}/portal/{portal_token(secret, shop_id, member_id, now)}"


def form_token(secret: str, member_id: int, nonce: str) -> str:
    """The CSRF token of one rendered page: binds the page's nonce to the member."""
    return _serializer(secret, FORM_SALT).dumps([member_id, nonce])


def read_form_token(secret: str, token: str, member_id: int) -> str:
    """The page nonce, if `token` was issued for `member_id`; raises LinkInvalidError."""
    try:
        owner, nonce = _serializer(secret, FORM_SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        raise LinkInvalidError("this form is not valid") from None
    if owner != member_id or not isinstance(nonce, str) or not 8 <= len(nonce) <= 64:
        raise LinkInvalidError("this form is not valid")
    return nonce


def unsubscribe_token(secret: str, shop_id: int, member_id: int) -> str:
    return _serializer(secret, UNSUBSCRIBE_SALT).dumps([shop_id, member_id])


def read_unsubscribe_token(secret: str, token: str) -> MemberRef:
    try:
        shop_id, member_id = _serializer(secret, UNSUBSCRIBE_SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        raise LinkInvalidError("this link is not valid") from None
    return MemberRef(int(shop_id), int(member_id))


def unsubscribe_url(base_url: str, secret: str, shop_id: int, member_id: int) -> str:
    return f"{base_url.rstrip('/')}/unsubscribe/{unsubscribe_token(secret, shop_id, member_id)}"
