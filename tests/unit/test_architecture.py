"""The layering of DESIGN.md, checked by import-linter's contracts in setup.cfg."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_hold():  # type: ignore[no-untyped-def]
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    result = subprocess.run([command, "--config", "setup.cfg"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_port_method_is_implemented_by_both_adapters():  # type: ignore[no-untyped-def]
    from adapters.shopify import ShopifyPlatform
    from adapters.woocommerce import WooCommercePlatform
    from integration.ports import StorePlatform
    from tests.fakes import FakePlatform
    for platform in (ShopifyPlatform(), WooCommercePlatform(), FakePlatform()):
        assert isinstance(platform, StorePlatform), type(platform).__name__
