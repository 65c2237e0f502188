"""Creating, checking and repairing our webhooks; every body checked against the webhook schema."""
import json

import pytest
import responses
from responses import matchers

from adapters.woocommerce import WooCommercePlatform
from adapters.woocommerce.subscriptions import TOPICS, WebhookState
from integration.ports import StoreAuthError, StoreWriteError
from tests.integration.woocommerce.helpers import API, SHOP, error
from tests.woocommerce_contract import assert_requests_valid, fixture

DELIVERY_URL = "https://loyalty.example/webhooks/woocommerce/7c1e"
SECRET = "Q8mZ2k7PbX4rT9wL"


def hook(hook_id, topic, status="active", url=DELIVERY_URL):
    return {**fixture("webhook_created.v3.json"), "id": hook_id, "topic": topic, "status": status,
            "resource": topic.split(".")[0], "event": topic.split(".")[1], "delivery_url": url,
            "name": f"loyalty-bridge {topic}"}


def list_webhooks(hooks):
    responses.get(API + "webhooks", json=hooks, headers={"X-WP-TotalPages": "1"},
                  match=[matchers.query_param_matcher({"per_page": "100", "status": "all", "page": "1"})])


def echo_created(start_id):
    """POST /webhooks answers 201 with the created webhook, ids counting up from start_id."""
    ids = iter(range(start_id, start_id + 100))

    def callback(request):
        body = json.loads(request.body)
        return 201, {}, json.dumps(hook(next(ids), body["topic"], url=body["delivery_url"]))
    responses.add_callback(responses.POST, API + "webhooks", callback=callback, content_type="application/json")


def posted_topics():
    return [json.loads(call.request.body)["topic"] for call in responses.calls if call.request.method == "POST"]


@responses.activate
def test_create_webhooks_on_a_fresh_store():
    list_webhooks([hook(90, "order.updated", url="https://other-app.example/hook")])
    echo_created(200)

    ids = WooCommercePlatform().create_webhooks(SHOP, DELIVERY_URL, SECRET)

    assert ids == ["200", "201", "202", "203", "204"]
    assert posted_topics() == ["order.created", "order.updated", "order.deleted", "order.restored",
                               "customer.created"]
    assert all(json.loads(call.request.body)["secret"] == SECRET
               for call in responses.calls if call.request.method == "POST")
    assert assert_requests_valid(responses.calls) == 5


@responses.activate
def test_create_webhooks_again_reuses_ours_and_sets_the_secret():
    list_webhooks([hook(150 + n, topic) for n, topic in enumerate(TOPICS)])
    for n in range(len(TOPICS)):
        responses.put(API + f"webhooks/{150 + n}", json=hook(150 + n, TOPICS[n]))

    ids = WooCommercePlatform().create_webhooks(SHOP, DELIVERY_URL, SECRET)

    assert ids == ["150", "151", "152", "153", "154"]
    assert posted_topics() == []
    assert assert_requests_valid(responses.calls) == 5


@responses.activate
def test_webhook_health_lists_status_per_topic():
    list_webhooks([hook(150, "order.created"), hook(151, "order.updated", "disabled"),
                   hook(152, "order.deleted", "paused"), hook(153, "customer.created"),
                   hook(99, "order.restored", url="https://other.example/")])

    health = WooCommercePlatform().webhook_health(SHOP, DELIVERY_URL)

    assert health == [("order.created", "active", "150"), ("order.updated", "disabled", "151"),
                      ("order.deleted", "paused", "152"), ("order.restored", "missing", None),
                      ("customer.created", "active", "153")]


@responses.activate
def test_webhook_health_without_url_recognises_ours_by_name():
    list_webhooks([hook(150, "order.created", url="https://old.example/hook"),
                   {**hook(151, "order.updated"), "name": "Zapier"}])

    health = WooCommercePlatform().webhook_health(SHOP)

    assert health[:2] == [WebhookState("order.created", "active", "150"), WebhookState("order.updated", "missing", None)]


@responses.activate
def test_repair_recreates_disabled_reactivates_paused_creates_missing():
    list_webhooks([hook(150, "order.created"), hook(151, "order.updated", "disabled"),
                   hook(152, "order.deleted", "paused"), hook(153, "customer.created")])
    responses.delete(API + "webhooks/151", json=hook(151, "order.updated", "disabled"),
                     match=[matchers.query_param_matcher({"force": "true"})])
    responses.put(API + "webhooks/152", json=hook(152, "order.deleted"))
    echo_created(300)

    changes = WooCommercePlatform().repair_webhooks(SHOP, DELIVERY_URL, SECRET)

    assert changes == [("order.updated", "recreated", "300"), ("order.deleted", "reactivated", "152"),
                       ("order.restored", "created", "301")]
    put = next(call for call in responses.calls if call.request.method == "PUT")
    assert json.loads(put.request.body) == {"status": "active", "secret": SECRET}
    assert assert_requests_valid(responses.calls) == 3


@responses.activate
def test_repair_of_a_healthy_store_changes_nothing():
    list_webhooks([hook(150 + n, topic) for n, topic in enumerate(TOPICS)])

    assert WooCommercePlatform().repair_webhooks(SHOP, DELIVERY_URL, SECRET) == []
    assert len(responses.calls) == 1


@responses.activate
def test_webhook_list_walks_pages():
    responses.get(API + "webhooks", json=[hook(150, "order.created")], headers={"X-WP-TotalPages": "2"},
                  match=[matchers.query_param_matcher({"per_page": "100", "status": "all", "page": "1"})])
    responses.get(API + "webhooks", json=[hook(151, "order.updated")], headers={"X-WP-TotalPages": "2"},
                  match=[matchers.query_param_matcher({"per_page": "100", "status": "all", "page": "2"})])

    health = WooCommercePlatform().webhook_health(SHOP, DELIVERY_URL)

    assert [state.status for state in health] == ["active", "active", "missing", "missing", "missing"]


@responses.activate
def test_invalid_delivery_url_fails_for_good():
    list_webhooks([])
    responses.post(API + "webhooks", status=400, json=error("woocommerce_rest_shop_webhook_invalid_delivery_url", 400))

    with pytest.raises(StoreWriteError) as raised:
        WooCommercePlatform().create_webhooks(SHOP, DELIVERY_URL, SECRET)

    assert raised.value.retryable is False


@responses.activate
def test_key_without_manager_rights_is_an_auth_error():
    responses.get(API + "webhooks", status=403, json=error("woocommerce_rest_cannot_view", 403))

    with pytest.raises(StoreAuthError):
        WooCommercePlatform().webhook_health(SHOP, DELIVERY_URL)
