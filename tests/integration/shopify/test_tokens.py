"""Token endpoint calls: exact bodies, expiring-token fields, failures."""
from datetime import datetime, timedelta, timezone

import pytest
import requests

from adapters.shopify import tokens
from integration.ports import StoreAuthError, StoreWriteError

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
APP = tokens.OAuthApp("key", "shpss_secret", admin_url="https://admin.test/{shop}", now=lambda: NOW)
URL = "https://admin.test/x.myshopify.com/admin/oauth/access_token"
EXPIRING = {"access_token": "shpat_new", "scope": "read_orders,write_discounts", "expires_in": 3600,
            "refresh_token": "shprt_new", "refresh_token_expires_in": 7776000}
EXPECTED = tokens.TokenSet("shpat_new", "read_orders,write_discounts", NOW + timedelta(hours=1), "shprt_new", NOW + timedelta(days=90))


def body(api):
    import json

    return json.loads(api.calls[-1].request.body)


@pytest.fixture
def api():
    import responses

    with responses.RequestsMock() as mock:
        yield mock


def test_exchange_code_asks_for_an_expiring_token(api):
    api.post(URL, json=EXPIRING)
    assert tokens.exchange_code(APP, "x.myshopify.com", "abc") == EXPECTED
    assert body(api) == {"client_id": "key", "client_secret": "shpss_secret", "code": "abc", "expiring": "1"}
    assert api.calls[-1].request.req_kwargs["timeout"] == 10.0


def test_non_expiring_token_has_no_expiry(api):
    api.post(URL, json={"access_token": "shpat_old", "scope": "read_orders"})
    token = tokens.exchange_code(APP, "x.myshopify.com", "abc", expiring=False)
    assert token == tokens.TokenSet("shpat_old", "read_orders")
    assert not token.needs_refresh(NOW)
    assert "expiring" not in body(api)


def test_refresh_sends_the_refresh_grant(api):
    api.post(URL, json=EXPIRING)
    assert tokens.refresh(APP, "x.myshopify.com", "shprt_old") == EXPECTED
    assert body(api) == {"client_id": "key", "client_secret": "shpss_secret", "grant_type": "refresh_token", "refresh_token": "shprt_old"}


def test_session_token_exchange_for_offline_token(api):
    api.post(URL, json=EXPIRING)
    tokens.exchange_session_token(APP, "x.myshopify.com", "eyJ.id.token")
    assert body(api) == {"client_id": "key", "client_secret": "shpss_secret",
                         "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "subject_token": "eyJ.id.token",
                         "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
                         "requested_token_type": "urn:shopify:params:oauth:token-type:offline-access-token", "expiring": "1"}


def test_migrate_legacy_offline_token(api):
    api.post(URL, json=EXPIRING)
    tokens.migrate_to_expiring(APP, "x.myshopify.com", "shpat_legacy")
    assert body(api)["subject_token_type"] == "urn:shopify:params:oauth:token-type:offline-access-token"
    assert body(api)["expiring"] == "1"


def test_needs_refresh_a_minute_early():
    assert not EXPECTED.needs_refresh(NOW + timedelta(minutes=58, seconds=59))
    assert EXPECTED.needs_refresh(NOW + timedelta(minutes=59))


def test_tokens_are_not_in_repr():
    assert "shpat_new" not in repr(EXPECTED) and "shprt_new" not in repr(EXPECTED)
    assert "shpss_secret" not in repr(APP)


def test_refused_grant_is_an_auth_error(api):
    api.post(URL, status=400, json={"error": "invalid_grant", "error_description": "refresh token expired"})
    with pytest.raises(StoreAuthError, match="refresh token expired"):
        tokens.refresh(APP, "x.myshopify.com", "shprt_old")


@pytest.mark.parametrize("reply", [{"status": 503, "body": ""}, {"body": requests.ConnectionError("down")}])
def test_unavailable_endpoint_is_retryable(api, reply):
    api.post(URL, **reply)
    with pytest.raises(StoreWriteError) as error:
        tokens.exchange_code(APP, "x.myshopify.com", "abc")
    assert error.value.retryable is True
