"""Flask app: JSON API, settings page, portal. `bootstrap.create_app` builds it."""
