"""`check_keys`: confirm pasted or received keys with one cheap authenticated GET before saving them."""
import pytest
import responses
from responses import matchers

from adapters.woocommerce.auth import check_keys
from integration.ports import StoreAuthError, StoreWriteError
from tests.integration.woocommerce.helpers import API, STORE, error


@responses.activate
def test_good_keys_pass():
    responses.get(API + "webhooks", json=[], match=[matchers.query_param_matcher({"per_page": "1"})])

    assert check_keys(STORE + "/", "ck_test", "cs_test") is None
    assert len(responses.calls) == 1


@responses.activate
def test_refused_keys_raise_auth_error():
    responses.get(API + "webhooks", status=401, json=error("woocommerce_rest_authentication_error", 401))

    with pytest.raises(StoreAuthError):
        check_keys(STORE, "ck_test", "cs_wrong")


@responses.activate
def test_site_without_pretty_permalinks_is_reported():
    responses.get(API + "webhooks", body="<html>WordPress page</html>", content_type="text/html")

    with pytest.raises(StoreWriteError) as raised:
        check_keys(STORE, "ck_test", "cs_test")

    assert "JSON" in str(raised.value)


@responses.activate
def test_unreachable_store_is_retried_once_then_reported():
    responses.get(API + "webhooks", status=503)
    sleeps = []

    with pytest.raises(StoreWriteError) as raised:
        check_keys(STORE, "ck_test", "cs_test", sleep=sleeps.append)

    assert raised.value.retryable is True
    assert sleeps == [0.5]
