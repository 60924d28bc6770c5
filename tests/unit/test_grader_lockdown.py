"""The grading kernel's container (src/matchbox/grader/lockdown.py): one lockdown for the grader's
`docker run` and the hub's sandbox service, one size parser, and nothing but the standard library."""

import subprocess
import sys

import pytest

from matchbox.grader import lockdown

SETTINGS = dict(memory="1g", cpus=1.5, pids=128, wall_s=300, ipc_dir="/tmp/ipc",
                submission_dir="/srv/course/autograded/ada/00", connection_file="/tmp/ipc/kernel.json")


@pytest.mark.parametrize("text, size", [
    ("512m", 512 * 2**20), ("2g", 2 * 2**30), ("1.5G", int(1.5 * 2**30)), ("2gb", 2 * 2**30),
    ("64MiB", 64 * 2**20), ("1024", 1024), ("100k", 102_400), (" 1g ", 2**30), (2**20, 2**20)])
def test_sizes_in_dockers_units(text, size):
    assert lockdown.size_bytes(text) == size


@pytest.mark.parametrize("text", ["lots", "", "-1g", "1x", "g", "1 g b", "1e9"])
def test_what_is_not_a_size(text):
    with pytest.raises(ValueError, match="is not a size such as 512m or 2g"):
        lockdown.size_bytes(text)


def test_the_lockdown_as_docker_run_flags():
    """Every part of the lockdown becomes a `docker run` flag, with the same values docker-py gets."""
    settings = lockdown.container_settings(**SETTINGS)
    args = lockdown.docker_run_args(settings)
    joined = " ".join(args)
    for expected in ("--network none", "--memory 1073741824", "--memory-swap 1073741824",
                     "--cpus 1.5", "--pids-limit 128", "--read-only", "--user 1000:100",
                     "--cap-drop=ALL", "--security-opt=no-new-privileges", "--ulimit=core=0:0",
                     "--tmpfs=/home/jovyan/work:rw,nosuid,nodev,size=256m,uid=1000,gid=100",
                     "--volume=/tmp/ipc:/tmp/ipc:rw",
                     "--volume=/srv/course/autograded/ada/00:/home/jovyan/.submission:ro",
                     "--env=NBGRADER_EXECUTION=autograde", "--workdir /home/jovyan/work"):
        assert expected in joined, (expected, args)
    assert settings["command"][-2:] == ["300", "/tmp/ipc/kernel.json"]
    assert settings["mem_limit"] == settings["memswap_limit"] == 2**30  # no swap on top
    assert settings["nano_cpus"] == 1_500_000_000


def test_a_setting_without_a_flag_is_refused():
    """A setting added to the lockdown cannot be silently missing from the local `docker run`."""
    settings = dict(lockdown.container_settings(**SETTINGS), privileged=False)
    with pytest.raises(KeyError, match="privileged"):
        lockdown.docker_run_args(settings)


def test_the_hub_side_imports_the_standard_library_only():
    """The hub image installs matchbox without nbgrader or traitlets: what the sandbox service
    imports of the grader (lockdown) and the kernel process (sandbox_client) load nothing else."""
    probe = ("import sys; before = set(sys.modules)\n"
             "import matchbox.grader.lockdown, matchbox.grader.sandbox_client\n"
             "new = {m.split('.')[0] for m in set(sys.modules) - before}\n"
             "print(' '.join(sorted(new - set(sys.stdlib_module_names) - {'matchbox'})))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == []
