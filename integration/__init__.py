"""loyalty-bridge core: rules, ledger, services and web pages (see DESIGN.md)."""
