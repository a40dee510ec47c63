"""The public API is pinned: every endpoint with its parameters (name, type, default) and its outputs.

Refactors of the UI move code between files; they must not change what an API script sees. The pin
is ``tests/api_pinned.json``; after a deliberate API change, regenerate it with
``DIFFUSION_EXPLORER_REPIN=1 python -m pytest tests/test_api_pinned.py`` and say why in the commit.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

PIN = Path(__file__).with_name("api_pinned.json")


def _signature(info: dict) -> dict:
    """What a client relies on: per endpoint, each parameter's name, type and default, and the outputs' types."""
    return {
        name: {
            "parameters": [
                {
                    "name": p["parameter_name"],
                    "type": p["python_type"]["type"],
                    "has_default": p["parameter_has_default"],
                    "default": p["parameter_default"] if p["parameter_has_default"] else None,
                }
                for p in endpoint["parameters"]
            ],
            "returns": [r["python_type"]["type"] for r in endpoint["returns"]],
        }
        for name, endpoint in sorted(info["named_endpoints"].items())
    }


def test_public_api_is_unchanged(client):
    signature = _signature(client.view_api(return_format="dict", print_info=False))
    if os.environ.get("DIFFUSION_EXPLORER_REPIN") == "1":
        PIN.write_text(json.dumps(signature, indent=1, ensure_ascii=False) + "\n")
    pinned = json.loads(PIN.read_text())
    assert sorted(signature) == sorted(pinned), "API names changed"
    for name in pinned:
        assert signature[name] == pinned[name], f"{name} changed"
