"""deploy/kubernetes/config.yaml as the Zero to JupyterHub chart (version 4.4.0) hands it to
KubeSpawner, and the pod the real KubeSpawner (7.0.0, the chart's) makes from it for a participant
or the instructor, without a cluster.

What the chart does with `singleuser` is in its hub image's jupyterhub_config.py (chart 4.4.0,
jupyterhub/files/hub/jupyterhub_config.py): each key below is set on the KubeSpawner trait named
beside it; `hub.config` sections are loaded as they are (c[section].update(...)).
"""

import asyncio
import functools
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import yaml
from traitlets.config import Config

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "kubernetes" / "config.yaml"
EXCHANGE_MANIFEST = ROOT / "deploy" / "kubernetes" / "exchange.yaml"
CHART_VERSION = "4.4.0"
KUBESPAWNER_VERSION = "7.0.0"

# chart 4.4.0's values.schema.yaml: the properties it allows (additionalProperties: false) under
# singleuser, singleuser.storage and cull, and those of hub this config uses
SCHEMA_KEYS = {
    "singleuser": {
        "allowPrivilegeEscalation", "cloudMetadata", "cmd", "cpu", "defaultUrl", "events",
        "extraAnnotations", "extraContainers", "extraEnv", "extraFiles", "extraLabels",
        "extraNodeAffinity", "extraPodAffinity", "extraPodAntiAffinity", "extraPodConfig",
        "extraResource", "extraTolerations", "fsGid", "image", "initContainers", "lifecycleHooks",
        "memory", "networkPolicy", "networkTools", "nodeSelector", "podNameTemplate", "profileList",
        "serviceAccountName", "startTimeout", "storage", "uid"},
    "singleuser.storage": {
        "capacity", "dynamic", "extraLabels", "extraVolumeMounts", "extraVolumes", "homeMountPath",
        "static", "type"},
    "singleuser.storage.dynamic": {
        "pvcNameTemplate", "storageAccessModes", "storageClass", "subPath", "volumeNameTemplate"},
    "singleuser.image": {"name", "pullPolicy", "pullSecrets", "tag"},
    "singleuser.memory": {"guarantee", "limit"},
    "singleuser.cpu": {"guarantee", "limit"},
    "cull": {"adminUsers", "concurrency", "enabled", "every", "maxAge", "removeNamedServers",
             "timeout", "users"},
    "hub": {"concurrentSpawnLimit", "config"},
    "scheduling": {"userScheduler"},
}

# singleuser KEY -> (class, trait) where the chart's jupyterhub_config.py sets it (chart 4.4.0)
SINGLEUSER_TRAITS = {
    "uid": ("KubeSpawner", "uid"),
    "fsGid": ("KubeSpawner", "fs_gid"),
    "allowPrivilegeEscalation": ("KubeSpawner", "allow_privilege_escalation"),
    "startTimeout": ("KubeSpawner", "start_timeout"),
    "image.pullPolicy": ("KubeSpawner", "image_pull_policy"),
    "memory.limit": ("KubeSpawner", "mem_limit"),
    "memory.guarantee": ("KubeSpawner", "mem_guarantee"),
    "cpu.limit": ("KubeSpawner", "cpu_limit"),
    "cpu.guarantee": ("KubeSpawner", "cpu_guarantee"),
    "extraEnv": ("KubeSpawner", "environment"),
    "profileList": ("KubeSpawner", "profile_list"),
    "cmd": ("Spawner", "cmd"),
    "defaultUrl": ("Spawner", "default_url"),
    "storage.capacity": ("KubeSpawner", "storage_capacity"),
    "storage.dynamic.storageAccessModes": ("KubeSpawner", "storage_access_modes"),
    "storage.dynamic.storageClass": ("KubeSpawner", "storage_class"),
}
# singleuser keys the chart turns into other traits by code, not one to one: image.name and
# image.tag -> KubeSpawner.image ("name:tag"); storage.type dynamic -> storage_pvc_ensure and a
# volume of the PVC mounted at storage.homeMountPath; storage.extraVolumes/extraVolumeMounts
# (dicts) -> merged into KubeSpawner.volumes/volume_mounts
SINGLEUSER_BUILT = {"image.name", "image.tag", "storage.type", "storage.homeMountPath",
                    "storage.extraVolumes", "storage.extraVolumeMounts"}


def values():
    return yaml.safe_load(CONFIG.read_text(encoding="utf-8"))


def leaves(mapping, prefix=""):
    """Dotted paths of a nested dict down to the keys SINGLEUSER_TRAITS or SINGLEUSER_BUILT know
    (their values may be dicts: extraEnv, extraVolumes, ...)."""
    for key, value in mapping.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and path not in SINGLEUSER_TRAITS and path not in SINGLEUSER_BUILT:
            yield from leaves(value, path + ".")
        else:
            yield path


def spawner_config(values):
    """The traitlets Config the chart's hub builds from these values (the parts matchbox sets)."""
    config = Config()
    single = values["singleuser"]
    for path in leaves(single):
        if path in SINGLEUSER_TRAITS:
            cls, trait = SINGLEUSER_TRAITS[path]
            value = single
            for part in path.split("."):
                value = value[part]
            config[cls][trait] = value
    image = single["image"]
    config.KubeSpawner.image = f"{image['name']}:{image['tag']}"
    storage = single["storage"]
    assert storage["type"] == "dynamic", "only dynamic storage is mapped here"
    volume = "volume-{user_server}"  # the chart's default storage.dynamic.volumeNameTemplate
    config.KubeSpawner.storage_pvc_ensure = True
    volumes = {volume: {"name": volume, "persistentVolumeClaim": {"claimName": "{pvc_name}"}}}
    mounts = {volume: {"name": volume, "mountPath": storage["homeMountPath"], "subPath": None}}
    volumes.update(storage.get("extraVolumes") or {})
    mounts.update(storage.get("extraVolumeMounts") or {})
    config.KubeSpawner.volumes = volumes
    config.KubeSpawner.volume_mounts = mounts
    for section, settings in values["hub"].get("config", {}).items():
        config[section].update(settings)
    return config


# the servers the tests look at: name -> (user, groups, profile, language)
SERVERS = {
    "participant": ("alice", (), "cpu", None),
    "participant-ja": ("alice", (), "cpu", "ja"),
    "participant-gpu": ("alice", (), "gpu", "en"),
    "instructor": ("instructor", ("instructors",), "cpu", None),
}


@functools.lru_cache(maxsize=1)
def pods():
    """{server name: the pod manifest (a dict, as the Kubernetes API takes it) KubeSpawner makes
    for it}. Made in a child process whose KUBECONFIG is a file naming no reachable cluster:
    KubeSpawner reads a kube config when it is made, but making a pod calls no API."""
    with tempfile.TemporaryDirectory() as home:
        kubeconfig = Path(home) / "config"
        kubeconfig.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "none",
            "clusters": [{"name": "none", "cluster": {"server": "https://127.0.0.1:9"}}],
            "users": [{"name": "none", "user": {"token": "none"}}],
            "contexts": [{"name": "none", "context": {"cluster": "none", "user": "none"}}]}))
        made = subprocess.run([sys.executable, "-m", "tests.support.kubernetes"], cwd=ROOT,
                              env={**os.environ, "KUBECONFIG": str(kubeconfig)},
                              capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, f"KubeSpawner made no pods:\n{made.stderr[-3000:]}"
    return json.loads(made.stdout)


async def _pod(name, groups, profile, language):
    """The pod of one server, as JupyterHub's User.spawn and KubeSpawner.start make it."""
    from kubernetes_asyncio.client import ApiClient
    from kubespawner import KubeSpawner

    hub = SimpleNamespace(public_host="", url="http://hub:8081/hub/", base_url="/",
                          api_url="http://hub:8081/hub/api")
    user = SimpleNamespace(name=name, id=7, url=f"/user/{name}/", admin="instructors" in groups,
                           groups=[SimpleNamespace(name=group) for group in groups])
    spawner = KubeSpawner(config=spawner_config(values()), user=user, hub=hub, _mock=True)
    spawner.api_token = f"token-of-{name}"
    spawner.oauth_client_id = f"jupyterhub-user-{name}"
    spawner.user_options = {"profile": profile, **({"language": language} if language else {})}
    await spawner.apply_group_overrides()  # JupyterHub's User.spawn
    await spawner.load_user_options()  # KubeSpawner.start: the profile and its options
    async with ApiClient() as client:
        return client.sanitize_for_serialization(await spawner.get_pod_manifest())


async def _all_pods():
    return {server: await _pod(*how) for server, how in SERVERS.items()}


def exchange_layout_script():
    """The shell script of the exchange's layout Job (deploy/kubernetes/exchange.yaml)."""
    for document in yaml.safe_load_all(EXCHANGE_MANIFEST.read_text(encoding="utf-8")):
        if document["kind"] == "Job":
            (container,) = document["spec"]["template"]["spec"]["containers"]
            return container["command"]
    raise AssertionError(f"{EXCHANGE_MANIFEST} has no Job")


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_all_pods())))
