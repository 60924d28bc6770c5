"""The hub's settings are declared once (src/matchbox/hub/settings.py): docker-compose.yml forwards
exactly those to the hub, docs/room.md lists exactly those, and bad values are refused with the
variable's name. No Docker needed (tests/test_hub_settings.py proves the running hub sees them).
"""

import os
import re
import subprocess
import sys

import pytest
import yaml

from matchbox.hub import settings
from matchbox.hub.settings import HubSettings, SettingsError
from tests.support.containers import ROOT

KNOBS = HubSettings.knobs()
VARIABLES = [trait.metadata["env"] for trait in KNOBS.values()]


def hub_environment():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return compose["services"]["hub"]["environment"]


def test_the_hub_reads_no_variable_that_is_not_declared():
    """Every MATCHBOX_HUB_* name in the hub's code (the declaration aside) is a declared setting."""
    files = [ROOT / "hub" / "jupyterhub_config.py", *(ROOT / "src" / "matchbox" / "hub").glob("*.py")]
    code = "".join(path.read_text() for path in files if path.name != "settings.py")
    assert set(re.findall(r"MATCHBOX_HUB_[A-Z_]*[A-Z]", code)) <= set(VARIABLES)
    assert "os.environ" not in (ROOT / "hub" / "jupyterhub_config.py").read_text()


def test_compose_forwards_every_setting_with_its_declared_default():
    environment = hub_environment()
    assert isinstance(environment, dict), "the hub's environment in docker-compose.yml is a mapping"
    forwarded = {name: value for name, value in environment.items() if name.startswith("MATCHBOX_HUB_")}
    expected = {trait.metadata["env"]: settings.compose_value(trait) for trait in KNOBS.values()}
    different = {name: f"{forwarded[name]} (expected {value})" for name, value in expected.items()
                 if forwarded.get(name, value) != value}
    assert forwarded == expected, (
        "docker-compose.yml's hub environment differs from src/matchbox/hub/settings.py: "
        f"missing {sorted(expected.keys() - forwarded.keys())}, "
        f"not declared {sorted(forwarded.keys() - expected.keys())}, different {different}")


@pytest.mark.parametrize("name", ["room.md", "room.ja.md"])
def test_docs_list_every_setting_from_the_declaration(name):
    doc = (ROOT / "docs" / name).read_text(encoding="utf-8")
    assert settings.BEGIN in doc and settings.END in doc, f"docs/{name} lost its settings markers"
    table = doc.split(settings.BEGIN + "\n", 1)[1].split(settings.END, 1)[0]
    assert table == settings.markdown(), (
        f"docs/{name}'s settings table is out of date: python -m matchbox.hub.settings --update docs/{name}")
    listed = re.findall(r"^\| `(MATCHBOX_HUB_[A-Z_]+)` \|", table, re.M)
    assert listed == VARIABLES


def test_defaults_and_sizes():
    hub = HubSettings.from_environ({})
    assert (hub.failed_logins, hub.lockout_seconds, hub.cpu_limit) == (5, 120, 1.0)
    assert hub.disk_limit == 2 * 2 ** 30 and hub.mem_limit == 3 * 2 ** 30
    assert hub.cull_interval == 600 and hub.inbound_volume == "matchbox-hub-inbound"
    given = HubSettings.from_environ({"MATCHBOX_HUB_DISK_LIMIT": "0", "MATCHBOX_HUB_INBOUND_LIMIT": "",
                                      "MATCHBOX_HUB_TMP_LIMIT": "1048576", "MATCHBOX_HUB_MEM_LIMIT": "1.5G",
                                      "MATCHBOX_HUB_CULL_TIMEOUT": "20", "MATCHBOX_HUB_CULL_EVERY": "5",
                                      "MATCHBOX_HUB_GRADING_DIR": ""})
    assert (given.disk_limit, given.inbound_limit, given.tmp_limit) == (0, 0, 2 ** 20)
    assert given.mem_limit == 3 * 2 ** 29 and given.cull_interval == 5 and given.grading_dir == ""
    assert HubSettings.from_environ({"MATCHBOX_HUB_CULL_TIMEOUT": "20"}).cull_interval == 10


def test_the_admin_password_is_never_kept_in_the_settings():
    hub = HubSettings.from_environ({"MATCHBOX_HUB_ADMIN_PASSWORD": "a secret"})
    assert hub.admin_password == ""


@pytest.mark.parametrize(("variable", "value", "expected"), [
    ("MATCHBOX_HUB_FAILED_LOGINS", "five", "a whole number, 0 or more"),
    ("MATCHBOX_HUB_LOCKOUT_SECONDS", "0", "a whole number, 1 or more"),
    ("MATCHBOX_HUB_PIDS_LIMIT", "-1", "a whole number, 0 or more"),
    ("MATCHBOX_HUB_CPU_LIMIT", "one", "a number, 0 or more"),
    ("MATCHBOX_HUB_DISK_LIMIT", "2GB", "a size"),
    ("MATCHBOX_HUB_MEM_LIMIT", "-", "a size"),
])
def test_a_bad_value_is_refused_naming_the_variable_and_what_it_accepts(variable, value, expected):
    with pytest.raises(SettingsError) as refused:
        HubSettings.from_environ({variable: value, "MATCHBOX_HUB_CULL_EVERY": "soon"})
    assert f"{variable}={value!r}: expected {expected}" in str(refused.value)
    assert "MATCHBOX_HUB_CULL_EVERY='soon'" in str(refused.value), "every bad variable is named"


def test_the_command_line_stops_on_a_bad_value_with_the_message():
    result = subprocess.run([sys.executable, "-m", "matchbox.hub.settings"], capture_output=True, text=True,
                            env={**os.environ, "MATCHBOX_HUB_MIN_PASSWORD": "eight"}, timeout=60)
    assert result.returncode == 1
    assert "matchbox-hub: cannot use these settings" in result.stderr
    assert "MATCHBOX_HUB_MIN_PASSWORD='eight': expected a whole number, 1 or more" in result.stderr
