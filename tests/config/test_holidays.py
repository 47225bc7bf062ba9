"""A holiday entry the calendar does not know (a typo in a country, subdivision or
language code) fails at start with the file, the key and the reason: app.yaml is checked
against the real `holidays` library by what starts deploybot (the CLI, the doctor), which
hands the check to bot.config (the schema imports no backend)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.backends.holiday_calendar import check_holiday
from bot.config import ConfigError, load_config
from bot.doctor import config_check
from tests.conftest import base_config

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, *holidays: dict[str, Any]) -> Path:
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(base_config(freezes={"holidays": list(holidays)})))
    return path


@pytest.mark.parametrize(("entry", "reason"), [
    ({"country": "XX"},
     "unknown holiday country 'XX'; use an ISO 3166-1 code such as 'US' or 'DE'"),
    ({"country": "DE", "subdivision": "ZZ"},
     "unknown subdivision 'ZZ' for holiday country 'DE'; known: BB, BE"),
    ({"country": "DE", "language": "fr"},
     "holiday names for 'DE' are not available in 'fr'; available: de, en_US"),
], ids=["country", "subdivision", "language"])
def test_an_unknown_holiday_code_names_the_file_key_and_reason(
        tmp_path: Path, entry: dict[str, Any], reason: str) -> None:
    path = _write(tmp_path, {"country": "US"}, entry)
    with pytest.raises(ConfigError) as info:
        load_config(path, holidays=check_holiday)
    err = info.value
    assert (err.path, err.key) == (str(path), "freezes.holidays.1")
    assert err.reason.startswith(reason)
    assert str(err).startswith(f"{path}: freezes.holidays.1: {reason}")


def test_known_holidays_load(tmp_path: Path) -> None:
    path = _write(tmp_path, {"country": "US", "names": ["Christmas Day"]},
                  {"country": "DE", "subdivision": "BY", "language": "en_US"})
    cfg = load_config(path, holidays=check_holiday)
    assert [(h.country, h.subdivision) for h in cfg.freezes.holidays] == [
        ("US", None), ("DE", "BY")]


def test_check_config_refuses_an_unknown_holiday_country_in_one_line(tmp_path: Path) -> None:
    path = _write(tmp_path, {"country": "XX"})
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DEPLOYBOT_CONFIG", None)
    r = subprocess.run([sys.executable, "-m", "bot", "check-config", str(path)], cwd=tmp_path,
                       env=env, capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 2, r.stderr
    assert r.stdout == ""
    assert r.stderr.strip() == (f"deploybot: {path}: freezes.holidays.0: unknown holiday "
                                "country 'XX'; use an ISO 3166-1 code such as 'US' or 'DE'")


def test_the_doctor_reports_an_unknown_holiday_country(tmp_path: Path) -> None:
    path = _write(tmp_path, {"country": "XX"})
    check, config = config_check(str(path))
    assert config is None
    assert not check.ok
    assert check.detail == (f"{path}: freezes.holidays.0: unknown holiday country 'XX'; use "
                            "an ISO 3166-1 code such as 'US' or 'DE'")
    assert check.fix is not None and f"freezes.holidays.0 in {path}" in check.fix
