"""WooCommerce adapter: webhook verification and parsing, REST v3 client, connect flow.

Imports only `integration.events` / `integration.ports` from the core, plus requests and stdlib.
"""
from adapters.woocommerce.platform import WooCommercePlatform

__all__ = ["WooCommercePlatform"]
