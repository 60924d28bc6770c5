"""The participant image, driven as a participant would: real daemon, real containers."""

import json
import re
import uuid

import pytest
import requests

from tests.support.containers import ROOT, docker

pytestmark = pytest.mark.docker

ASSIGNMENTS = sorted(p.name for p in (ROOT / "handson").iterdir() if p.is_dir())


def test_healthy_within_ten_seconds(start_lab):
    """Does a fresh container report healthy within 10 s?"""
    lab = start_lab(wait=False)
    assert lab.wait_healthy(limit=30) <= 10


def test_api_needs_credentials(start_lab):
    """Is the contents API closed without credentials and open with the token?"""
    lab = start_lab()
    assert lab.api("/api/contents", token=False).status_code == 403
    assert lab.api("/api/contents", token=False, params={"token": "wrong"}).status_code == 403
    assert lab.api("/api/contents").status_code == 200


def login(lab, password):
    """Log in through the real login form (XSRF cookie included); return the session."""
    session = requests.Session()
    page = session.get(lab.url + "/login", timeout=10)
    assert page.status_code == 200
    xsrf = session.cookies.get("_xsrf")
    assert xsrf, "the login page set no _xsrf cookie"
    session.post(lab.url + "/login", data={"password": password, "_xsrf": xsrf},
                 allow_redirects=False, timeout=10)
    return session


def test_password_login(start_lab):
    """Does PASSWORD work through the login form, and does a wrong one get nothing?"""
    lab = start_lab(token=None, env={"PASSWORD": "foobar-matchbox"})
    right = login(lab, "foobar-matchbox")
    assert right.get(lab.url + "/api/contents", timeout=10).status_code == 200
    wrong = login(lab, "foobar")
    assert wrong.get(lab.url + "/api/contents", timeout=10).status_code == 403
    assert "log in with the workshop PASSWORD" in lab.logs()


def test_password_is_never_kept_in_clear(start_lab):
    """Is the clear password absent from the server's environment and from every file it wrote?"""
    secret = "clear-" + uuid.uuid4().hex
    lab = start_lab(token=None, env={"PASSWORD": secret})
    pid = lab.server_pid()
    environ = lab.exec("cat", f"/proc/{pid}/environ").stdout
    assert "PASSWORD=" not in environ
    found = lab.exec("grep", "-rl", "--exclude-dir=proc", secret, "/home", "/tmp", "/etc", "/opt/venv/etc",
                     check=False)
    assert found.stdout == "", f"the clear password was written to: {found.stdout}"
    cmdline = lab.exec("cat", f"/proc/{pid}/cmdline").stdout
    assert secret not in cmdline and "argon2:" in cmdline


@pytest.mark.parametrize("variable", ["PASSWORD", "JUPYTER_TOKEN"])
def test_empty_secret_is_refused(image, variable):
    """Does an empty PASSWORD or token stop the container with a message, instead of an open lab?"""
    run = docker("run", "--rm", "-e", f"{variable}=", image, check=False, timeout=60)
    assert run.returncode != 0
    assert f"{variable} is set but empty" in run.stderr


def test_random_token_when_nothing_is_set(start_lab):
    """With neither PASSWORD nor token, is a random token generated and the login URL printed?"""
    lab = start_lab(token=None)
    match = re.search(r"http://127\.0\.0\.1:8888/lab\?token=([0-9a-f]{32,})", lab.logs())
    assert match, lab.logs()
    assert lab.api("/api/contents", token=False).status_code == 403
    assert lab.api("/api/contents", token=False, params={"token": match.group(1)}).status_code == 200


def test_server_runs_as_uid_1000(start_lab):
    """Does the Jupyter server run as jovyan (uid 1000, gid 100), not root?"""
    lab = start_lab()
    ids = lab.exec("grep", "-E", "^(Uid|Gid):", f"/proc/{lab.server_pid()}/status").stdout.split()
    assert ids[1:5] == ["1000"] * 4 and ids[6:10] == ["100"] * 4


def test_stack_imports(image):
    """Do TensorFlow, Keras, nbgrader and matplotlib import inside the image?"""
    code = "import tensorflow, keras, nbgrader, matplotlib; print(tensorflow.__version__, keras.__version__)"
    run = docker("run", "--rm", image, "python", "-c", code, timeout=120)
    assert run.stdout.split()[0] == "2.21.0"


def test_datasets_load_offline(image):
    """Do both datasets load and verify with no network at all?"""
    code = (
        "from matchbox.data import load_mnist, verify\n"
        "assert all(r.ok for r in verify()), verify()\n"
        "for kind in ('digits', 'fashion'):\n"
        "    (x, t), (xt, tt) = load_mnist(kind)\n"
        "    print(kind, x.shape, x.dtype, xt.shape, t.max())\n"
    )
    run = docker("run", "--rm", "--network", "none", image, "python", "-c", code, timeout=120)
    assert run.stdout.splitlines() == [
        "digits (60000, 28, 28) float32 (10000, 28, 28) 9",
        "fashion (60000, 28, 28) float32 (10000, 28, 28) 9",
    ]


def test_pretrained_network_ships_and_verifies_offline(image):
    """Does the image carry 07's pretrained digits 0-4 network, checksum intact, reading its digits?"""
    run = docker("run", "--rm", "--network", "none", image, "python", "-m", "matchbox.pretrained", "verify",
                 timeout=120)
    assert "checksum OK; test accuracy 99." in run.stdout, run.stdout + run.stderr


def test_work_survives_container_removal(start_lab, volume):
    """Does a file written in the work volume survive docker rm and show up in a new container?"""
    first = start_lab(volume=volume)
    first.exec("sh", "-c", "echo 'my notes' > /home/jovyan/work/notes.txt")
    docker("rm", "-f", first.name)
    second = start_lab(volume=volume)
    assert second.exec("cat", "/home/jovyan/work/notes.txt").stdout == "my notes\n"


def test_seeding_keeps_edits_and_adds_missing_files(start_lab, volume):
    """Are the hands-on notebooks seeded, a learner's edit kept, and a missing notebook added back?"""
    first = start_lab(volume=volume)
    listing = first.api("/api/contents").json()["content"]
    assert sorted(item["name"] for item in listing if item["type"] == "directory") == ASSIGNMENTS
    edited = f"/home/jovyan/work/{ASSIGNMENTS[0]}/{ASSIGNMENTS[0]}.ipynb"
    removed = f"/home/jovyan/work/{ASSIGNMENTS[-1]}/{ASSIGNMENTS[-1]}.ipynb"
    first.exec("sh", "-c", f"echo '{{\"learner\": \"edit\"}}' > {edited} && rm {removed}")
    docker("rm", "-f", first.name)
    second = start_lab(volume=volume)
    assert json.loads(second.exec("cat", edited).stdout) == {"learner": "edit"}
    assert json.loads(second.exec("cat", removed).stdout)["cells"], "the missing notebook was not added back"
    assert "1 new file(s) copied" in second.logs()


def test_participant_extensions(image):
    """Are Validate and the assignment list on, the instructor's tools off, and the Japanese pack there?"""
    run = docker("run", "--rm", image, "sh", "-c",
                 "jupyter server extension list 2>&1; jupyter labextension list 2>&1", timeout=120)
    text = re.sub(r"\x1b\[[0-9;]*m", "", run.stdout + run.stderr)
    assert re.search(r"nbgrader\.server_extensions\.validate_assignment\s+enabled", text)
    assert re.search(r"nbgrader\.server_extensions\.assignment_list\s+enabled", text)
    assert re.search(r"nbgrader\.server_extensions\.formgrader\s+disabled", text)
    for plugin in ("formgrader", "create-assignment", "course-list"):
        assert f"@jupyter/nbgrader:{plugin}" in text.split("Disabled extensions:")[1]


def test_japanese_language_pack_is_offered(start_lab):
    """Does the lab offer Japanese while English stays the default?"""
    lab = start_lab()
    languages = lab.api("/lab/api/translations").json()["data"]
    assert "ja_JP" in languages
    settings = lab.api("/lab/api/settings/@jupyterlab/translation-extension:plugin").json()
    assert settings.get("settings", {}).get("locale", "default") in ("default", "en")


JAPANESE_FIGURE = r"""
import warnings
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    fig, ax = plt.subplots()
    ax.set_title("損失関数の推移（エポックごと）")
    ax.set_xlabel("エポック (epoch)")
    ax.plot([1, 2, 3], [0.9, 0.5, 0.3], label="訓練データ")
    ax.legend()
    fig.savefig("/tmp/japanese.png")
print("WARNINGS", [str(w.message) for w in caught])
"""


def test_matchbox_lang_ja_gives_a_japanese_lab(start_lab):
    """With MATCHBOX_LANG=ja: the Japanese notebooks in the work folder, JupyterLab's menus in
    Japanese by default, a Japanese locale for the server and its kernels, and a figure with a
    Japanese title drawn without a missing-glyph warning."""
    lab = start_lab(env={"MATCHBOX_LANG": "ja"})
    notebook = lab.api("/api/contents/01-matchbox/01-matchbox.ipynb").json()["content"]
    assert notebook["metadata"].get("matchbox") == {"language": "ja"}
    assert "### 演習 1" in json.dumps(notebook, ensure_ascii=False)
    settings = lab.api("/lab/api/settings/@jupyterlab/translation-extension:plugin").json()
    assert settings["schema"]["properties"]["locale"]["default"] == "ja_JP"  # the menus' default
    assert settings["settings"].get("locale", "ja_JP") == "ja_JP"  # no user choice overrides it
    menus = lab.api("/lab/api/translations/ja_JP").json()["data"]["jupyterlab"]
    assert menus.get("Edit") == ["編集"], str(menus)[:300]
    environ = lab.exec("cat", f"/proc/{lab.server_pid()}/environ").stdout.split("\0")
    assert "LANG=ja_JP.UTF-8" in environ and "MATCHBOX_LANG=ja" in environ
    # kernels and terminals inherit the server's LANG (docker exec does not: it is given here)
    run = lab.exec("env", "LANG=ja_JP.UTF-8", "python", "-c",
                   "import locale; print(locale.setlocale(locale.LC_ALL, ''))")
    assert run.stdout.strip() == "ja_JP.UTF-8", run.stdout + run.stderr
    figure = lab.exec("python", "-c", JAPANESE_FIGURE)
    assert "WARNINGS []" in figure.stdout, figure.stdout + figure.stderr
    assert "MATCHBOX_LANG=ja" in lab.logs()


def test_english_stays_the_default(start_lab):
    lab = start_lab()
    notebook = lab.api("/api/contents/01-matchbox/01-matchbox.ipynb").json()["content"]
    assert "matchbox" not in notebook["metadata"] and "### Exercise 1" in json.dumps(notebook)
    figure = lab.exec("python", "-c", JAPANESE_FIGURE)  # the font is there for English users too
    assert "WARNINGS []" in figure.stdout, figure.stdout + figure.stderr


def test_unknown_matchbox_lang_is_refused(image):
    run = docker("run", "--rm", "-e", "MATCHBOX_LANG=klingon", image, check=False, timeout=60)
    assert run.returncode != 0
    assert "MATCHBOX_LANG='klingon' is not a language of this workshop" in run.stderr
    assert "MATCHBOX_LANG=ja" in run.stderr


def test_solutions_validate_inside_the_image(image):
    """Does every assignment's solution execute and pass nbgrader validate inside the image, offline?"""
    script = " && ".join(f"nbgrader validate {name}/{name}.ipynb" for name in ASSIGNMENTS)
    run = docker("run", "--rm", "--network", "none", "-v", f"{ROOT / 'solutions'}:/course:ro", image,
                 "sh", "-c", f"cp -r /course /tmp/course && cd /tmp/course && {script}", timeout=900)
    assert run.stdout.count("Success! Your notebook passes all the tests.") == len(ASSIGNMENTS), run.stdout
    assert "VALIDATION FAILED" not in run.stdout and "CHANGED" not in run.stdout, run.stdout


def test_build_ca_stays_out_of_the_image(image):
    """Does the extra CA the build trusted (certs/*.crt) stay out of the final image and its environment?"""
    run = docker("run", "--rm", image, "sh", "-c",
                 "ls /usr/local/share/ca-certificates 2>&1; env", timeout=60)
    assert "No such file or directory" in run.stdout
    assert "PIP_CERT" not in run.stdout and "NODE_EXTRA_CA_CERTS" not in run.stdout
