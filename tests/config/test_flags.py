"""`flags:` (issue 17): where each environment's flags live and the flags a service declares,
checked when app.yaml is loaded — each problem one line naming the file, the key and the
reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import ConfigError, load_config, parse_config
from tests.conftest import base_config

FEATURE_FLAG = {"flagd": {"feature_flag": {"name": "app-flags", "namespace": "production"}}}


def with_flags(flags: dict[str, Any], service_flags: list[Any] | None = None
               ) -> dict[str, Any]:
    api: dict[str, Any] = {"executor": "simulated"}
    if service_flags is not None:
        api["flags"] = service_flags
    return base_config(flags=flags, services={"api": api})


def load_error(tmp_path: Path, data: dict[str, Any]) -> ConfigError:
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.path == str(path)
    assert "\n" not in str(info.value)
    return info.value


def test_flags_load_with_names_or_mappings_and_yaml_on_off_as_variants(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    data = with_flags({"production": FEATURE_FLAG, "staging": {
        "flagd": {"configmap": {"name": "flagd", "namespace": "staging"}},
        "ofrep": {"url": "http://flagd.staging:8016"}}},
        ["new-checkout", {"name": "payments-v2", "expect": "off", "kill_switch": True}])
    # written as YAML: a bare `off` is a boolean to YAML 1.1, and still means the variant
    path.write_text(yaml.safe_dump(data).replace("expect: 'off'", "expect: off"),
                    encoding="utf-8")
    assert "expect: off\n" in path.read_text(encoding="utf-8")
    cfg = load_config(path)
    staging = cfg.flags["staging"]
    assert staging.flagd is not None and staging.flagd.configmap is not None
    assert staging.flagd.configmap.key == "flags.json"
    assert staging.ofrep is not None and staging.ofrep.token_env is None
    assert [(f.name, f.expect, f.kill_switch) for f in cfg.services["api"].flags] == [
        ("new-checkout", None, False), ("payments-v2", "off", True)]


@pytest.mark.parametrize(("flags", "service_flags", "key", "reason"), [
    ({"qa": FEATURE_FLAG}, None, "flags.qa", "unknown environment 'qa'"),
    ({"production": {}}, None, "flags.production", "give flagd"),
    ({"production": {"flagd": {}}}, None, "flags.production.flagd",
     "exactly one of feature_flag and configmap"),
    ({"production": {"flagd": {
        "feature_flag": {"name": "a", "namespace": "production"},
        "configmap": {"name": "b", "namespace": "production"}}}}, None,
     "flags.production.flagd", "exactly one of feature_flag and configmap"),
    ({"production": {"flagd": {"feature_flag": {"name": "App_Flags",
                                                "namespace": "production"}}}}, None,
     "flags.production.flagd.feature_flag.name", "not a valid Kubernetes name"),
    ({"production": {"flagd": {"configmap": {"name": "f", "namespace": "production",
                                             "key": "a/b"}}}}, None,
     "flags.production.flagd.configmap.key", "not a ConfigMap key"),
    ({"production": {"ofrep": {"url": "flags.acme.test"}}}, None,
     "flags.production.ofrep.url", "should match pattern"),
    ({"production": {"ofrep": {"url": "https://f.acme.test", "token_env": "tok en"}}}, None,
     "flags.production.ofrep.token_env", "not an environment variable name"),
    ({"production": {"ofrep": {"url": "https://f.acme.test", "token": "s3cret"}}}, None,
     "flags.production.ofrep.token", "Extra inputs are not permitted"),
    ({"production": FEATURE_FLAG}, ["a", {"name": "a", "expect": "on"}],
     "services.api.flags", "flag 'a' is declared twice"),
    ({"production": FEATURE_FLAG}, [{"name": "two words"}], "services.api.flags.0.name",
     "not a flag key"),
    ({}, ["new-checkout"], "services.api.flags", "add flags.<environment>"),
])
def test_a_bad_flags_section_names_the_key_and_the_reason(
        tmp_path: Path, flags: dict[str, Any], service_flags: list[Any] | None, key: str,
        reason: str) -> None:
    err = load_error(tmp_path, with_flags(flags, service_flags))
    assert err.key == key, err
    assert reason in err.reason, err


def test_a_service_may_declare_flags_an_environment_it_deploys_to_keeps() -> None:
    data = with_flags({"staging": {"ofrep": {"url": "https://flags.acme.test/"}}},
                      [{"name": "x", "expect": "green"}])
    data["services"]["api"]["environments"] = ["staging"]
    assert parse_config(data).services["api"].flags[0].expect == "green"
    data["services"]["api"]["environments"] = ["production"]
    with pytest.raises(ConfigError, match=r"services\.api\.flags: none of the environments"):
        parse_config(data)
