"""The participant lab against a careless start or a stranger on the room's network: seeding faults,
root, the password's whereabouts and the login throttle. Real containers, real Docker networks."""

import json
import textwrap
import uuid

import pytest
import requests

from tests.support.containers import ROOT, docker

ASSIGNMENTS = sorted(p.name for p in (ROOT / "handson").iterdir() if p.is_dir())
WORK = "/home/jovyan/work"
FAILURES_ALLOWED = 5  # ThrottledPasswordIdentityProvider.failures_allowed's default


def notebook(name):
    """Path of an assignment's notebook inside the work folder."""
    return f"{WORK}/{name}/{name}.ipynb"


def checksums(lab, root):
    """{relative path: sha256} of every file under root inside the container."""
    out = lab.exec("sh", "-c", f"cd {root} && find . -type f -exec sha256sum {{}} +").stdout
    return {path[2:]: digest for digest, path in (line.split(maxsplit=1) for line in out.splitlines())}


def login(url, password, **headers):
    """Post the login form (with its XSRF cookie); return (status of the post, session)."""
    session = requests.Session()
    session.get(url + "/login", timeout=10)
    post = session.post(url + "/login", data={"password": password, "_xsrf": session.cookies.get("_xsrf")},
                        headers=headers, allow_redirects=False, timeout=30)
    return post.status_code, session


def in_volume(image, volume, script):
    """Run a shell script as uid 1000 with the volume at the work folder (not through start-lab)."""
    return docker("run", "--rm", "--entrypoint", "sh", "-v", f"{volume}:{WORK}", image, "-c", script)


# ---- seeding -----------------------------------------------------------------------------------

@pytest.mark.docker
def test_seeding_repairs_what_a_failed_start_left_and_keeps_edits(start_lab, volume):
    """Is a truncated (or empty) hands-on notebook repaired, a leftover temporary file removed,
    and a learner's edited notebook (shorter or longer than the original) left as it is?"""
    truncated, emptied, shortened, extended = ASSIGNMENTS[:4]
    lab = start_lab(volume=volume)
    original = checksums(lab, "/opt/matchbox/handson")
    lab.exec("sh", "-c", textwrap.dedent(f"""\
        set -e
        head -c 1000 /opt/matchbox/handson/{truncated}/{truncated}.ipynb > {notebook(truncated)}
        : > {notebook(emptied)}
        echo '{{"learner": "edit"}}' > {notebook(shortened)}
        echo '  ' >> {notebook(extended)}
        echo half-written > {WORK}/{truncated}/.matchbox-seed-{truncated}.ipynb.dead
        """))
    edited = {name: lab.exec("sha256sum", notebook(name)).stdout.split()[0] for name in (shortened, extended)}
    docker("restart", lab.name)
    lab.wait_healthy()

    now = checksums(lab, WORK)
    for name in (truncated, emptied):
        assert now[f"{name}/{name}.ipynb"] == original[f"{name}/{name}.ipynb"], f"{name} was not repaired"
    for name, digest in edited.items():
        assert now[f"{name}/{name}.ipynb"] == digest, f"the learner's {name} was overwritten"
    assert not [path for path in now if ".matchbox-seed-" in path], now
    logs = lab.logs()
    assert "repaired 2 hands-on file(s)" in logs, logs
    assert "removed 1 temporary file(s)" in logs, logs


@pytest.mark.docker
def test_full_disk_leaves_no_partial_notebook_and_the_lab_starts(start_lab):
    """With too little space for every notebook, is each copied notebook whole, nothing
    half-written left behind, the shortfall logged, and the lab still healthy?"""
    # (--mount's tmpfs-mode is ignored over a folder the image has: Docker 20.10 keeps it root's 755)
    lab = start_lab("--tmpfs", f"{WORK}:size=200k,uid=1000,gid=100")
    original = checksums(lab, "/opt/matchbox/handson")
    copied = checksums(lab, WORK)
    assert 0 < len(copied) < len(original), copied
    for path, digest in copied.items():
        assert original.get(path) == digest, f"{path} is not a whole copy of the image's notebook"
    logs = lab.logs()
    missing = len(original) - len(copied)
    assert f"{missing} hands-on file(s) could not be copied" in logs, logs
    assert "No space left on device" in logs and "Free some space" in logs, logs
    assert lab.api("/api/contents").status_code == 200


@pytest.mark.docker
def test_name_clashes_are_skipped_with_a_log_line(start_lab, volume, image):
    """A file where a hands-on folder belongs, a folder where a notebook belongs: does the lab
    start, say what it skipped and how to fix it, and seed everything else?"""
    as_file, as_folder = ASSIGNMENTS[0], ASSIGNMENTS[1]
    in_volume(image, volume, f"echo mine > {WORK}/{as_file} && mkdir -p {notebook(as_folder)}")
    lab = start_lab(volume=volume)
    logs = lab.logs()
    assert f"skipped {WORK}/{as_file}: it is a file where the hands-on folder" in logs, logs
    assert f"skipped {notebook(as_folder)}: it is a folder where the hands-on file" in logs, logs
    assert "Rename or move it" in logs
    assert lab.exec("cat", f"{WORK}/{as_file}").stdout == "mine\n"
    for name in ASSIGNMENTS[2:]:
        assert json.loads(lab.exec("cat", notebook(name)).stdout)["cells"]


@pytest.mark.docker
@pytest.mark.parametrize("user", ["0", "root"])
def test_root_is_refused_before_touching_the_volume(image, volume, user):
    """Does `--user 0` / `-u root` stop the lab with a message saying how to run it, with
    nothing written to the work volume?"""
    run = docker("run", "--rm", "--user", user, "-e", "PASSWORD=whatever", "-v", f"{volume}:{WORK}", image,
                 check=False, timeout=60)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "refusing to run as root" in run.stderr and "--user 0" in run.stderr, run.stderr
    assert in_volume(image, volume, f"ls -A {WORK}").stdout == ""


# ---- the password ------------------------------------------------------------------------------

@pytest.mark.docker
def test_password_with_surrounding_spaces_logs_in(start_lab):
    """Spaces around PASSWORD are not part of it: typed with or without them, it logs in."""
    lab = start_lab(token=None, env={"PASSWORD": "  two words  "})
    for typed in ("  two words  ", "two words"):
        status, session = login(lab.url, typed)
        assert status == 302, typed
        assert session.get(lab.url + "/api/contents", timeout=10).status_code == 200
    assert login(lab.url, "twowords")[0] == 401
    assert "they are not part of the password" in lab.logs()


def environ_of(lab, pids):
    """The environments of these processes (a shell word list of PIDs), read inside the container as uid 1000."""
    return lab.exec("sh", "-c", f"for p in {pids}; do cat /proc/$p/environ; echo; done 2>/dev/null").stdout


@pytest.mark.docker
def test_password_leaves_no_process_environment(start_lab):
    """With PASSWORD, is it gone from PID 1 (tini), the server and the kernels' parent?"""
    secret = "env-" + uuid.uuid4().hex
    lab = start_lab(token=None, env={"PASSWORD": secret})
    assert lab.exec("cat", "/proc/1/cmdline").stdout.startswith("tini")
    assert secret not in environ_of(lab, f"1 {lab.server_pid()}")
    assert login(lab.url, secret)[0] == 302


@pytest.mark.docker
def test_password_file_stays_out_of_inspect_and_every_environment(start_lab, tmp_path):
    """With PASSWORD_FILE (a mounted secret), does it log in while `docker inspect` and every
    process's environment in the container hold no clear text?"""
    secret = "file-" + uuid.uuid4().hex
    secret_file = tmp_path / "password"
    secret_file.write_text(secret + "\n")
    secret_file.chmod(0o644)  # readable by the container's uid 1000 whoever runs the tests
    lab = start_lab("--mount", f"type=bind,src={secret_file},dst=/run/secrets/matchbox_password,readonly",
                    token=None, env={"PASSWORD_FILE": "/run/secrets/matchbox_password"})
    assert secret not in docker("inspect", lab.name).stdout
    every_process = "$(cd /proc && echo [0-9]*)"
    assert secret not in environ_of(lab, every_process)
    assert login(lab.url, secret)[0] == 302
    assert login(lab.url, "wrong")[0] == 401


# ---- the login throttle --------------------------------------------------------------------------

ATTACKER = textwrap.dedent("""\
    import json, sys, requests
    url, right = sys.argv[1], sys.argv[2]
    session = requests.Session()
    session.get(url + "/login", timeout=10)
    def attempt(password, **headers):
        data = {"password": password, "_xsrf": session.cookies.get("_xsrf")}
        return session.post(url + "/login", data=data, headers=headers, allow_redirects=False, timeout=30)
    wrong = [attempt(f"guess-{i}").status_code for i in range(%d)]
    refused = attempt(right)
    spoofed = attempt(right, **{"X-Forwarded-For": "10.9.9.9", "X-Real-Ip": "10.9.9.9"})
    print(json.dumps({"wrong": wrong, "right": refused.status_code, "spoofed": spoofed.status_code,
                      "retry_after": refused.headers.get("Retry-After"), "page": refused.text}))
    """) % FAILURES_ALLOWED


@pytest.fixture
def network(docker_daemon):
    """A user-defined Docker network (the attacker and the lab meet there), removed afterwards."""
    name = f"matchbox-test-{uuid.uuid4().hex[:8]}"
    docker("network", "create", name)
    yield name
    docker("network", "rm", name, check=False)


@pytest.mark.docker
def test_login_throttle_locks_out_the_attacker_not_the_learner(start_lab, image, network):
    """After K wrong logins from one address (a container on the lab's network), is that address
    refused even with the right password and a forged X-Forwarded-For, while the learner (the
    host, through the published port) logs in meanwhile?"""
    password = "right-" + uuid.uuid4().hex[:8]
    lab = start_lab("--network", network, token=None, env={"PASSWORD": password})
    lab_ip = docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                    lab.name).stdout.strip()
    attack = docker("run", "--rm", "--network", network, "--entrypoint", "python", image,
                    "-c", ATTACKER, f"http://{lab_ip}:8888", password, timeout=120)
    seen = json.loads(attack.stdout)
    assert seen["wrong"] == [401] * (FAILURES_ALLOWED - 1) + [429], seen["wrong"]
    assert seen["right"] == 429 and seen["spoofed"] == 429, seen
    assert 250 <= int(seen["retry_after"]) <= 300, seen["retry_after"]
    assert "Too many failed logins" in seen["page"]

    status, learner = login(lab.url, password)
    assert status == 302, "the learner on another address was locked out too"
    assert learner.get(lab.url + "/api/contents", timeout=10).status_code == 200
    assert "locked out for 300 s" in lab.logs()
