"""The public face: ``import sim_bank`` gives the interface and its types without the modem libraries."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import sim_bank
from sim_bank import bank

HEAVY = ("gsmmodem", "serial")


def _loaded_after(code: str) -> list[str]:
    """The gsmmodem/pyserial modules a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    return [m for m in json.loads(out.stdout) if m.split(".")[0] in HEAVY]


@pytest.mark.parametrize(
    "code",
    [
        "import sim_bank",
        "from sim_bank import SimBank, ModemConfig, OutgoingSms, SendFailed, UssdReply",
        "import sim_bank.interface",
    ],
)
def test_the_interface_does_not_import_the_modem_libraries(code: str) -> None:
    assert _loaded_after(code) == []


def test_the_real_bank_is_imported_on_first_use() -> None:
    assert "gsmmodem" in _loaded_after("from sim_bank import GsmSimBank")
    assert sim_bank.GsmSimBank is bank.GsmSimBank


def test_every_name_in_the_face_is_there() -> None:
    for name in sim_bank.__all__:
        assert getattr(sim_bank, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        _ = sim_bank.Nothing  # type: ignore[attr-defined]
