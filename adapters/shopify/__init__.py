"""Shopify adapter: webhook verification and parsing, the GraphQL Admin client, install/auth."""
from .platform import ShopifyPlatform

__all__ = ["ShopifyPlatform"]
