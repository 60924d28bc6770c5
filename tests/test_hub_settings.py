"""Every declared hub setting (src/matchbox/hub/settings.py, the table in docs/room.md) reaches the
running hub: docker-compose forwards each, the hub's container loads the configuration with
each, and the login throttle pair works end to end. One hub of its own, every setting given a
value different from its default.
"""

import json
import time
from pathlib import Path

import pytest
import requests
import yaml

from matchbox.hub.settings import HubSettings
from tests.support.hubs import HUB_TAG, Hub, running_hub

pytestmark = pytest.mark.docker

KNOBS = {trait.metadata["env"]: trait for trait in HubSettings.knobs().values()}
# A value for each setting, none its default, each a working one (the hub below runs with them).
VALUES = {
    "MATCHBOX_HUB_ADMIN": "teacher",
    "MATCHBOX_HUB_MIN_PASSWORD": "11",
    "MATCHBOX_HUB_FAILED_LOGINS": "2",
    "MATCHBOX_HUB_LOCKOUT_SECONDS": "8",
    "MATCHBOX_HUB_SIGNUPS_PER_ADDRESS": "123",
    "MATCHBOX_HUB_SIGNUP_WINDOW_SECONDS": "654",
    "MATCHBOX_HUB_MAX_PENDING_SIGNUPS": "321",
    "MATCHBOX_HUB_AUTH": "shared",  # the admin and the login throttle below work alike in both modes
    "MATCHBOX_HUB_INSTRUCTOR_GID": "2345",
    "MATCHBOX_HUB_PARTICIPANT_GID_BASE": "23456",
    "MATCHBOX_HUB_INBOUND_LIMIT": "200M",
    "MATCHBOX_HUB_MEM_LIMIT": "1100M",
    "MATCHBOX_HUB_CPU_LIMIT": "0.75",
    "MATCHBOX_HUB_PIDS_LIMIT": "345",
    "MATCHBOX_HUB_TMP_LIMIT": "100M",
    "MATCHBOX_HUB_DISK_LIMIT": "300M",
    "MATCHBOX_HUB_START_TIMEOUT": "190",
    "MATCHBOX_HUB_CONCURRENT_SPAWNS": "17",
    "MATCHBOX_HUB_CULL_TIMEOUT": "7200",
    "MATCHBOX_HUB_CULL_EVERY": "77",
    "MATCHBOX_HUB_LANG": "ja",
    "MATCHBOX_HUB_ROOM_GROUP": "assistants",
    "MATCHBOX_HUB_ROOM_ASSIGNMENTS": "01-matchbox,02-perceptron",
    "MATCHBOX_HUB_ROOM_REFRESH": "4.5",
    "MATCHBOX_HUB_ROOM_IDLE": "900",
}
# The swarm's settings: a hub on one machine cannot run with them; tests/test_hub_swarm.py starts
# a swarm hub with them and tests/unit/test_hub_settings.py checks compose forwards them.
SWARM_ONLY = {"MATCHBOX_HUB_SPAWNER", "MATCHBOX_HUB_EXCHANGE_DIR"}
# Given their own values by tests.support.hubs (a prefix, folders and a password per test hub).
PER_HUB = {"MATCHBOX_HUB_PREFIX", "MATCHBOX_HUB_GRADING_DIR", "MATCHBOX_HUB_DISKS_DIR",
           "MATCHBOX_HUB_ADMIN_PASSWORD", "MATCHBOX_HUB_ROOM_PASSWORD"}
# Set by docker-compose.yml from MATCHBOX_HUB_TAG (the images it builds).
IMAGES = {"MATCHBOX_HUB_USER_IMAGE": "matchbox-hub-user:{tag}",
          "MATCHBOX_HUB_INSTRUCTOR_IMAGE": "matchbox-hub-instructor:{tag}"}

# Read elsewhere than in the configuration: each has its test below.
NOT_IN_CONFIG = {"MATCHBOX_HUB_ADMIN_PASSWORD": "the authenticator",
                 "MATCHBOX_HUB_ROOM_PASSWORD": "the shared mode's authenticator",
                 "MATCHBOX_HUB_INBOUND_LIMIT": "the start step"}

# Loads the hub's configuration in its container as JupyterHub does, once with none of the
# settings and once with each single setting from the container's environment (what compose
# forwarded): {"given": {VAR: value}, "default": config, "each": {VAR: config}}.
LOAD = """
import json, os, sys
from traitlets.config.loader import PyFileConfigLoader
names = json.loads(sys.argv[1])
given = {name: os.environ[name] for name in names if name in os.environ}
def load(env):
    for name in names:
        os.environ.pop(name, None)
    os.environ.update(env)
    return PyFileConfigLoader("/etc/jupyterhub/jupyterhub_config.py").load_config()
print(json.dumps({"given": given, "default": load({}),
                  "each": {name: load({name: value}) for name, value in given.items()}}, default=repr))
"""


def leaves(config, path=""):
    """{path: value} of every value in a configuration (dicts walked, lists as they are)."""
    if not isinstance(config, dict):
        return {path: config}
    return {p: v for key, value in config.items() for p, v in leaves(value, f"{path}.{key}").items()}


def expected_fragment(trait, text):
    """How the value `text` of this setting appears in the loaded configuration."""
    value = getattr(HubSettings.from_environ({trait.metadata["env"]: text}), trait.name)
    return str(value)


def test_every_setting_has_a_value_here():
    assert set(VALUES) | PER_HUB | set(IMAGES) | SWARM_ONLY == set(KNOBS), "give each setting a value in VALUES"
    default = HubSettings()
    for name, text in VALUES.items():
        trait = KNOBS[name]
        assert getattr(HubSettings.from_environ({name: text}), trait.name) != getattr(default, trait.name), \
            f"{name}={text} is its default"


def test_compose_config_shows_every_setting_in_the_hubs_environment():
    """`docker-compose --profile hub config` (the issue's check), every setting given a value."""
    hub = Hub("unused", "unused", **VALUES)  # nothing started: its environment only
    given = {**{name: hub.env[name] for name in PER_HUB}, **VALUES,
             **{name: form.format(tag=HUB_TAG) for name, form in IMAGES.items()}}
    config = yaml.safe_load(hub.compose("config").stdout)
    environment = config["services"]["hub"]["environment"]
    missing = {name: (environment.get(name), value) for name, value in given.items()
               if str(environment.get(name)) != value}
    assert not missing, f"the hub's environment in `docker-compose config` lacks (found, given): {missing}"


@pytest.fixture(scope="module")
def tuned_hub(image, instructor_image):
    started = time.monotonic()
    with running_hub(image, instructor_image, **VALUES) as hub:
        print(f"hub with every setting changed: up in {time.monotonic() - started:.1f} s")
        yield hub


def test_the_hub_loads_its_configuration_with_every_setting(tuned_hub):
    names = sorted(set(KNOBS) - set(NOT_IN_CONFIG) - SWARM_ONLY)
    result = tuned_hub.compose("exec", "-T", "hub", "/opt/hub/bin/python", "-c", LOAD, json.dumps(names))
    loaded = json.loads(result.stdout)
    assert sorted(loaded["given"]) == names, f"not in the hub's environment: {set(names) - set(loaded['given'])}"
    default = leaves(loaded["default"])
    for name, text in loaded["given"].items():
        changed = {path: value for path, value in leaves(loaded["each"][name]).items()
                   if default.get(path) != value}
        fragment = expected_fragment(KNOBS[name], text)
        assert any(fragment in f"{path}={json.dumps(value)}" for path, value in changed.items()), \
            f"{name}={text}: the configuration does not use it (changed: {changed})"


def test_the_start_step_made_the_inbound_volume_and_the_grading_dir_with_the_settings(tuned_hub):
    wanted = HubSettings.from_environ(VALUES)
    image = Path(tuned_hub.env["MATCHBOX_HUB_DISKS_DIR"]) / f"{tuned_hub.prefix}-inbound.img"
    assert image.stat().st_size == wanted.inbound_limit, "the inbound volume's size"
    grading = Path(tuned_hub.env["MATCHBOX_HUB_GRADING_DIR"]).stat()
    assert (grading.st_uid, grading.st_gid, grading.st_mode & 0o7777) == (0, wanted.instructor_gid, 0o750)


def form_login(hub, name, password):
    """The login form, as a browser posts it: (status, page)."""
    session = requests.Session()
    session.get(hub.url + "/hub/login", timeout=30)
    r = session.post(hub.url + "/hub/login", timeout=60, allow_redirects=False, data={
        "_xsrf": session.cookies.get("_xsrf"), "username": name, "password": password})
    return r.status_code, r.text


def test_the_third_wrong_password_is_refused_and_the_lockout_ends_after_its_seconds(tuned_hub):
    """MATCHBOX_HUB_FAILED_LOGINS=2 and MATCHBOX_HUB_LOCKOUT_SECONDS=8 in the running hub (the
    defaults, 5 and 120, would let the third try be checked and keep the address out 2 minutes);
    MATCHBOX_HUB_ADMIN and its password log in once it is over."""
    admin, password = VALUES["MATCHBOX_HUB_ADMIN"], tuned_hub.env["MATCHBOX_HUB_ADMIN_PASSWORD"]
    tries = [form_login(tuned_hub, admin, f"wrong-guess-{i}") for i in range(2)]
    last_failure = time.monotonic()
    assert [status for status, _ in tries] == [403, 403], tries
    status, page = form_login(tuned_hub, admin, "wrong-guess-2")
    assert status == 429 and "Too many failed logins from your network address" in page, (status, page[-2000:])
    status, _ = form_login(tuned_hub, admin, password)
    assert status == 429, "the right password during the lockout"
    time.sleep(max(0.0, last_failure + int(VALUES["MATCHBOX_HUB_LOCKOUT_SECONDS"]) + 1 - time.monotonic()))
    status, page = form_login(tuned_hub, admin, password)
    assert status == 302, (status, page[-2000:])
