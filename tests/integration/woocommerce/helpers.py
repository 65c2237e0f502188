"""Shared test values for the WooCommerce client tests (HTTP faked with `responses`)."""
from integration.ports import ShopAccess

STORE = "https://shop.example"
API = STORE + "/wp-json/wc/v3/"
HTTP_STORE = "http://127.0.0.1:8089"
CREDENTIALS = {"consumer_key": "ck_test", "consumer_secret": "cs_test", "webhook_secret": "whsec"}
SHOP = ShopAccess(shop_id=1, platform="woocommerce", domain=STORE, credentials=CREDENTIALS)
HTTP_SHOP = ShopAccess(shop_id=2, platform="woocommerce", domain=HTTP_STORE, credentials=CREDENTIALS)


def error(code, status):
    """WordPress REST error envelope."""
    return {"code": code, "message": code.replace("_", " "), "data": {"status": status}}
