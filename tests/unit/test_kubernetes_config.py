"""deploy/kubernetes/config.yaml (Zero to JupyterHub chart 4.4.0) against what the chart and the
pinned JupyterHub and KubeSpawner accept, and the pods the real KubeSpawner makes from it."""

import pytest
import yaml
from jupyterhub.app import JupyterHub
from jupyterhub.auth import Authenticator
from jupyterhub.spawner import Spawner
from kubespawner import KubeSpawner

from tests.support import kubernetes as k8s

# hub.config sections -> the classes whose configurable traits they may set. NativeAuthenticator
# (1.3.0 in the chart's hub image) is not in the dev set (it has no wheel of its dependency
# onetimepass); tests/test_kubernetes_image.py checks its section in the hub image, which pins
# the same version.
CLASSES = {"JupyterHub": JupyterHub, "Authenticator": Authenticator, "Spawner": Spawner,
           "KubeSpawner": KubeSpawner}
CHECKED_IN_THE_HUB_IMAGE = {"NativeAuthenticator"}


def configurable(cls):
    return set(cls.class_traits(config=True))


@pytest.fixture(scope="module")
def values():
    return k8s.values()


def test_the_pins_are_the_charts():
    import kubespawner

    assert kubespawner.__version__ == k8s.KUBESPAWNER_VERSION, (
        f"KubeSpawner {kubespawner.__version__} is installed; chart {k8s.CHART_VERSION}'s hub image runs "
        f"{k8s.KUBESPAWNER_VERSION} (requirements/dev.in)")
    doc = (k8s.ROOT / "docs" / "kubernetes.md").read_text(encoding="utf-8")
    assert f"--version {k8s.CHART_VERSION}" in doc, f"docs/kubernetes.md does not install chart {k8s.CHART_VERSION}"


def test_every_hub_config_key_is_a_configurable_trait(values):
    sections = values["hub"]["config"]
    unknown = set(sections) - set(CLASSES) - CHECKED_IN_THE_HUB_IMAGE
    assert not unknown, f"hub.config sections {sorted(unknown)} are none of {sorted(CLASSES)}"
    wrong = [f"{section}.{key}" for section, cls in CLASSES.items()
             for key in sections.get(section, {}) if key not in configurable(cls)]
    assert not wrong, f"hub.config sets {wrong}: no configurable trait of that name in the pinned classes"


def test_overrides_name_kubespawner_traits(values):
    """The profiles' (and their options') kubespawner_override and the group overrides set traits
    KubeSpawner has."""
    overrides = [go["spawner_override"] for go in values["hub"]["config"]["Spawner"]["group_overrides"].values()]
    for profile in values["singleuser"]["profileList"]:
        overrides.append(profile.get("kubespawner_override", {}))
        for option in profile.get("profile_options", {}).values():
            overrides += [choice.get("kubespawner_override", {}) for choice in option["choices"].values()]
    traits = configurable(KubeSpawner)
    wrong = sorted({key for override in overrides for key in override if key not in traits})
    assert not wrong, f"overrides set {wrong}, which are not KubeSpawner traits"


@pytest.mark.parametrize("section", sorted(k8s.SCHEMA_KEYS))
def test_keys_are_the_charts(values, section):
    """Every key is one chart 4.4.0's values.schema.yaml allows there."""
    part = values
    for name in section.split("."):
        part = part.get(name, {})
    unknown = set(part) - k8s.SCHEMA_KEYS[section]
    assert not unknown, f"{section} has {sorted(unknown)}, which chart {k8s.CHART_VERSION}'s schema does not allow"


def test_every_singleuser_key_maps_to_a_trait(values):
    """Each singleuser key reaches the KubeSpawner (or Spawner) trait the chart sets from it."""
    paths = list(k8s.leaves(values["singleuser"]))
    unmapped = [p for p in paths if p not in k8s.SINGLEUSER_TRAITS and p not in k8s.SINGLEUSER_BUILT]
    assert not unmapped, f"singleuser keys {unmapped} are not mapped to a trait in tests/support/kubernetes.py"
    missing = [f"{path} -> {cls}.{trait}" for path, (cls, trait) in k8s.SINGLEUSER_TRAITS.items()
               if trait not in configurable({"KubeSpawner": KubeSpawner, "Spawner": Spawner}[cls])]
    assert not missing, f"no such configurable traits: {missing}"


def container(pod):
    (notebook,) = pod["spec"]["containers"]
    return notebook


def test_participant_pod():
    pod = k8s.pods()["participant"]
    notebook = container(pod)
    assert notebook["image"].endswith("/matchbox-hub-user:workshop"), notebook["image"]
    assert notebook["args"] == ["start-singleuser"] and "command" not in notebook, (
        f"the image's ENTRYPOINT should run start-singleuser; the pod has command "
        f"{notebook.get('command')} args {notebook.get('args')}")
    context = notebook["securityContext"]
    ids = (context["runAsUser"], context["runAsGroup"], pod["spec"]["securityContext"])
    assert ids == (1000, 100, {"fsGroup": 100}), (
        f"expected uid 1000, gid 100 and fsGroup 100 (jovyan); got {context} and {pod['spec']['securityContext']}")
    assert context["readOnlyRootFilesystem"] is True and context["allowPrivilegeEscalation"] is False, context
    limits, requests = notebook["resources"]["limits"], notebook["resources"]["requests"]
    assert (limits["memory"], limits["cpu"], requests["memory"], requests["cpu"]) == (3 * 2**30, 1, 2 * 2**30, 0.5), (
        notebook["resources"])
    env = {e["name"]: e["value"] for e in notebook["env"]}
    assert env["MATCHBOX_LANG"] == "en", f"the default language should be en, got {env.get('MATCHBOX_LANG')}"
    mounts = {m["mountPath"]: m for m in notebook["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    work = volumes[mounts["/home/jovyan/work"]["name"]]
    assert work["persistentVolumeClaim"]["claimName"] == "claim-alice", work
    for path, size in (("/home/jovyan", "256Mi"), ("/tmp", "1Gi"), ("/var/tmp", "64Mi")):
        volume = volumes[mounts[path]["name"]]
        assert volume.get("emptyDir") == {"medium": "Memory", "sizeLimit": size}, (
            f"{path} should be a {size} memory-backed emptyDir (the root is read-only): {volume}")
    exchange, inbound = mounts["/srv/nbgrader/exchange"], mounts["/srv/nbgrader/exchange/matchbox/inbound"]
    assert exchange["readOnly"] is True, f"a participant's exchange should be read-only: {exchange}"
    inbound_mount = (inbound["name"], inbound["subPath"], inbound["readOnly"])
    assert inbound_mount == ("exchange", "matchbox/inbound", False), f"inbound should be writable: {inbound}"
    assert volumes["exchange"]["persistentVolumeClaim"]["claimName"] == "matchbox-exchange"
    assert "nvidia.com/gpu" not in limits and "supplementalGroups" not in pod["spec"]["securityContext"]


def test_language_and_gpu_choices():
    pods = k8s.pods()
    env = {e["name"]: e["value"] for e in container(pods["participant-ja"])["env"]}
    assert env["MATCHBOX_LANG"] == "ja", f"choosing ja should set MATCHBOX_LANG=ja, got {env.get('MATCHBOX_LANG')}"
    gpu = container(pods["participant-gpu"])
    assert gpu["resources"]["limits"].get("nvidia.com/gpu") == "1", gpu["resources"]
    assert gpu["image"].endswith("/matchbox-hub-user-gpu:workshop"), gpu["image"]
    assert {e["name"]: e["value"] for e in gpu["env"]}["MATCHBOX_LANG"] == "en"


def test_instructor_pod():
    pod = k8s.pods()["instructor"]
    notebook = container(pod)
    assert notebook["image"].endswith("/matchbox-hub-instructor:workshop"), (
        f"the instructors group should get the instructor image, got {notebook['image']}")
    assert pod["spec"]["securityContext"].get("supplementalGroups") == [2000], pod["spec"]["securityContext"]
    exchange = {m["mountPath"]: m for m in notebook["volumeMounts"]}["/srv/nbgrader/exchange"]
    assert exchange["readOnly"] is False, f"the instructor's exchange should be writable: {exchange}"
    config = k8s.values()["hub"]["config"]
    admins, instructors = config["Authenticator"]["admin_users"], config["JupyterHub"]["load_groups"]["instructors"]
    assert admins == instructors["users"], f"the admins {admins} should be the instructors group {instructors}"


def test_the_exchange_is_read_write_many():
    """(its layout Job runs in tests/test_kubernetes_image.py)"""
    documents = list(yaml.safe_load_all(k8s.EXCHANGE_MANIFEST.read_text(encoding="utf-8")))
    claim = next(d for d in documents if d["kind"] == "PersistentVolumeClaim")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"], claim["spec"]


def test_the_japanese_doc_has_every_command():
    from tests.unit.test_japanese_docs import test_japanese_document_has_every_command

    test_japanese_document_has_every_command("docs/kubernetes.md", "docs/kubernetes.ja.md")
