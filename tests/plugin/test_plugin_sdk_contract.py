"""The parts of the Pulumi SDK's experimental provider API the plugin relies on.

``pulumi.provider.experimental`` is marked experimental: an SDK upgrade may
move or rename it. Each assertion names what the plugin uses, so an upgrade
that breaks it fails here, loudly and by name, rather than as a plugin that
starts and then misbehaves in a user's ``pulumi up``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_the_experimental_provider_api_is_where_the_plugin_expects_it() -> None:
    probe = Path(__file__).with_name("sdk_contract_probe.py")
    out = subprocess.run([sys.executable, str(probe)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stdout + out.stderr
