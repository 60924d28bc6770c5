"""The participant hub image started the way KubeSpawner starts it from deploy/kubernetes/config.yaml
(the pod tests/support/kubernetes.py gets from the real KubeSpawner 7.0.0): its uid, group and
fsGroup, its environment (JUPYTERHUB_*, MEM_LIMIT, MATCHBOX_LANG), a read-only root with the
memory-backed emptyDirs, a fresh work volume owned as kubelet leaves a PVC under fsGroup, and the
exchange laid out by deploy/kubernetes/exchange.yaml's Job, read-only but for inbound (a subPath).
No cluster: Docker stands in for the kubelet, one container."""

import json
import os
import subprocess
import time
import uuid

import pytest

from tests.support import kubernetes as k8s
from tests.support.containers import ROOT, docker
from tests.support.hubs import HUB_TAG

pytestmark = pytest.mark.docker
USER_IMAGE = f"matchbox-hub-user:{HUB_TAG}"
HUB_IMAGE = f"matchbox-hub:{HUB_TAG}"
# What kubelet does to a volume under the pod's fsGroup (pkg/volume SetVolumeOwnership): the
# group becomes fsGroup, with rwx for it and the setgid bit on folders.
AS_KUBELET_WITH_FSGROUP = "chown -R 0:{gid} /v && chmod -R g+rwX /v && find /v -type d -exec chmod g+s {{}} +"
# jupyterhub-singleuser's first call to the hub, made once its configuration (from the pod's
# JUPYTERHUB_* environment) is parsed and the server's extensions are linked: no hub answers here.
CALLS_THE_HUB = "Failed to connect to my Hub at http://hub:8081/hub/api (attempt 1/5)"
# Who owns the seeded welcome notebook, and is it the Japanese edition (kana in it)?
SEEDED = """
import json, os, re
path = "/home/jovyan/work/00-welcome/00-welcome.ipynb"
text = open(path, encoding="utf-8").read()
print(json.dumps({"owner": os.stat(path).st_uid, "kana": bool(re.search("[\\u3040-\\u30ff]", text))}))
"""
# Write where a participant may and may not; prints what happened at each path.
PROBE_WRITES = """
import json, os
out = {}
for path in ["/opt/matchbox/x", "/srv/nbgrader/exchange/matchbox/outbound/x",
             "/srv/nbgrader/exchange/matchbox/inbound/alice+01+x", "/home/jovyan/work/x", "/tmp/x"]:
    try:
        open(path, "w").close()
        out[path] = "written"
    except OSError as error:
        out[path] = error.strerror
try:
    os.listdir("/srv/nbgrader/exchange/matchbox/inbound")
    out["list inbound"] = "listed"
except OSError as error:
    out["list inbound"] = error.strerror
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def hub_images(docker_daemon, request):
    """matchbox-hub-user:TAG and matchbox-hub:TAG as the hub tests build them (docker-compose's hub
    profile from this checkout); reused when present."""
    missing = [name for name in (USER_IMAGE, HUB_IMAGE)
               if docker("image", "inspect", name, check=False).returncode != 0]
    if missing:
        lab = request.getfixturevalue("image")
        env = {**os.environ, "MATCHBOX_HUB_TAG": HUB_TAG, "MATCHBOX_HUB_LAB_IMAGE": lab}
        build = subprocess.run(["docker-compose", "-p", f"k8s-build-{uuid.uuid4().hex[:6]}", "--profile", "hub",
                                "build", "hub", "hub-user"], cwd=ROOT, env=env, text=True,
                               capture_output=True, timeout=1800)
        assert build.returncode == 0, f"docker-compose build hub hub-user:\n{build.stderr[-3000:]}"
    return USER_IMAGE


@pytest.fixture
def volumes(docker_daemon):
    made = []

    def volume(*options):
        name = f"matchbox-k8s-test-{uuid.uuid4().hex[:8]}"
        docker("volume", "create", *options, name)
        made.append(name)
        return name

    yield volume
    for name in made:
        docker("volume", "rm", "-f", name, check=False)


def as_root(image, volume, script):
    """Run script as root on volume (mounted at /v), as kubelet or a Job would."""
    return docker("run", "--rm", "--user", "0", "--entrypoint", "sh", "-v", f"{volume}:/v", image, "-euc", script)


def run_args(pod, claims, volume):
    """docker run's options for the pod's notebook container: claims maps its PVCs' names to
    Docker volumes; volume(*options) makes a Docker volume (for the emptyDirs)."""
    (notebook,) = pod["spec"]["containers"]
    context, pod_context = notebook["securityContext"], pod["spec"]["securityContext"]
    args = ["--user", f"{context['runAsUser']}:{context['runAsGroup']}",
            "--group-add", str(pod_context["fsGroup"]), "--workdir", notebook["workingDir"]]
    args += [a for gid in pod_context.get("supplementalGroups", []) for a in ("--group-add", str(gid))]
    if context.get("readOnlyRootFilesystem"):
        args.append("--read-only")
    if context.get("allowPrivilegeEscalation") is False:
        args += ["--security-opt", "no-new-privileges"]
    args += [a for cap in context.get("capabilities", {}).get("drop", []) for a in ("--cap-drop", cap)]
    limits = notebook["resources"]["limits"]
    args += ["--memory", str(limits["memory"]), "--cpus", str(limits["cpu"])]
    for variable in notebook["env"]:
        args += ["--env", f"{variable['name']}={variable['value']}"]
    declared = {v["name"]: v for v in pod["spec"]["volumes"]}
    for mount in notebook["volumeMounts"]:
        source = declared[mount["name"]]
        if "emptyDir" in source:
            # kubelet: an empty tmpfs of sizeLimit, mode 0777, given to fsGroup (setgid). Docker's
            # own --tmpfs would copy the image's folder into it: a tmpfs volume, nothing copied.
            size = source["emptyDir"]["sizeLimit"].replace("Mi", "m").replace("Gi", "g")
            options = f"size={size},mode=2777,gid={pod_context['fsGroup']},nosuid,nodev"
            name = volume("--driver", "local", "--opt", "type=tmpfs", "--opt", "device=tmpfs", "--opt", f"o={options}")
            spec = f"type=volume,src={name},volume-nocopy"
        elif mount.get("subPath"):
            # kubelet binds the claim's sub-folder (Docker 20.10 has no volume-subpath)
            folder = docker("volume", "inspect", "-f", "{{.Mountpoint}}",
                            claims[source["persistentVolumeClaim"]["claimName"]]).stdout.strip()
            spec = f"type=bind,src={folder}/{mount['subPath']}"
        else:
            spec = f"type=volume,src={claims[source['persistentVolumeClaim']['claimName']]},volume-nocopy"
        spec += f",dst={mount['mountPath']}" + (",readonly" if mount.get("readOnly") else "")
        args += ["--mount", spec]
    return args, notebook["args"]


def wait_for(container, text, limit=60):
    started = time.monotonic()
    while time.monotonic() - started < limit:
        logs = docker("logs", container, check=False)
        if text in logs.stdout + logs.stderr:
            return time.monotonic() - started
        if docker("inspect", "-f", "{{.State.Running}}", container, check=False).stdout.strip() != "true":
            break
        time.sleep(0.5)
    logs = docker("logs", container, check=False)
    raise AssertionError(f"{text!r} not in {container}'s log after {time.monotonic() - started:.0f} s:\n"
                         f"{(logs.stdout + logs.stderr)[-4000:]}")


def test_participant_image_starts_as_kubespawner_starts_it(hub_images, volumes):
    pod = k8s.pods()["participant-ja"]
    # the participant's fresh PVC: an empty root-owned folder, given to fsGroup by kubelet
    work = volumes()
    as_root(hub_images, work, AS_KUBELET_WITH_FSGROUP.format(gid=pod["spec"]["securityContext"]["fsGroup"]))
    # the exchange, laid out by the Job of deploy/kubernetes/exchange.yaml (RWX volumes: no fsGroup)
    exchange = volumes()
    job = k8s.exchange_layout_script()
    assert job[:2] == ["sh", "-euc"], job
    as_root(hub_images, exchange, job[2].replace("/srv/nbgrader/exchange", "/v"))
    args, command = run_args(pod, {"claim-alice": work, "matchbox-exchange": exchange}, volumes)
    name = f"matchbox-k8s-test-{uuid.uuid4().hex[:8]}"
    docker("run", "-d", "--name", name, *args, hub_images, *command)
    try:
        seconds = wait_for(name, CALLS_THE_HUB)
        logs = docker("logs", name).stdout + docker("logs", name).stderr
        assert "MATCHBOX_LANG=ja" in logs, (
            f"MATCHBOX_LANG=ja from the profile option did not reach the start:\n{logs[-3000:]}")
        assert "new file(s) copied into /home/jovyan/work" in logs, logs[-3000:]
        for line in ("Starting jupyterhub single-user server extension version 5.5.4",
                     "Using default url from environment $JUPYTERHUB_DEFAULT_URL: /lab",
                     "jupyterhub | extension was successfully linked"):
            assert line in logs, f"jupyterhub-singleuser should log {line!r}:\n{logs[-4000:]}"
        refused = [line for line in logs.splitlines() if "Read-only file system" in line or "Permission denied" in line]
        assert not refused, "the server wrote where the pod does not let it:\n" + "\n".join(refused)
        seeded = json.loads(docker("exec", name, "python", "-c", SEEDED).stdout)
        assert seeded["owner"] == 1000 and seeded["kana"], (
            f"the Japanese notebooks should be seeded into the PVC, owned by uid 1000: {seeded}")
        writes = json.loads(docker("exec", name, "python", "-c", PROBE_WRITES).stdout)
        assert writes == {
            "/opt/matchbox/x": "Read-only file system",
            "/srv/nbgrader/exchange/matchbox/outbound/x": "Read-only file system",
            "/srv/nbgrader/exchange/matchbox/inbound/alice+01+x": "written",
            "/home/jovyan/work/x": "written", "/tmp/x": "written",
            "list inbound": "Permission denied"}, f"unexpected rights in the participant's pod: {writes}"
        print(f"participant server configured and calling the hub after {seconds:.1f} s")
    finally:
        docker("rm", "-f", name, check=False)


def test_native_authenticator_section_is_its_traits(hub_images):
    """hub.config.NativeAuthenticator against NativeAuthenticator 1.3.0 (the chart's and the hub
    image's version), checked in the hub image: the dev set cannot hold it."""
    section = k8s.values()["hub"]["config"]["NativeAuthenticator"]
    check = ("import json, sys, nativeauthenticator as n; from importlib.metadata import version; "
             "t = n.NativeAuthenticator.class_traits(config=True); "
             "print(json.dumps([version('jupyterhub-nativeauthenticator'), [k for k in sys.argv[1:] if k not in t]]))")
    found = docker("run", "--rm", "--entrypoint", "python3", HUB_IMAGE, "-c", check, *section)
    version, unknown = json.loads(found.stdout)
    assert version == "1.3.0", f"the hub image has NativeAuthenticator {version}; chart {k8s.CHART_VERSION} has 1.3.0"
    assert not unknown, f"hub.config.NativeAuthenticator sets {unknown}: not configurable traits of NativeAuthenticator"
