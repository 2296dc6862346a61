"""The README's settings table names every setting, so the docs cannot drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

from shopsense.settings import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_is_in_the_readme() -> None:
    documented = set(re.findall(r"`SHOPSENSE_([A-Z_]+)`", README.read_text()))
    declared = {name.upper() for name in Settings.model_fields}
    assert declared - documented == set()
    assert documented - declared == set()
