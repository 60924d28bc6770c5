"""start-singleuser: start a participant's server under JupyterHub. Seed the work folder as
start-lab does (existing files are never overwritten), then exec jupyterhub-singleuser (the hub
does the login)."""

import os
import shutil
import sys

from matchbox.lab.start import prepare_work_folder, use_language

# On the hub, the home folder (outside work/) is an empty tmpfs: give it the image's dotfiles
# and warm caches first (copied, never over a file that is already there).
HOME_TEMPLATE = "/opt/matchbox/home-template"


def fill_home(home):
    """Copy the template's entries into the home. The home folder itself may belong to root (on
    Kubernetes: an emptyDir, writable through the pod's fsGroup), so its own owner and mode are
    left alone: only what is copied into it is ours."""
    for entry in os.scandir(HOME_TEMPLATE):
        target = os.path.join(home, entry.name)
        if entry.is_dir(follow_symlinks=False):
            shutil.copytree(entry.path, target, dirs_exist_ok=True, copy_function=shutil.copy)
        else:
            shutil.copy(entry.path, target)


def main():
    home = os.path.expanduser("~")
    if os.path.isdir(HOME_TEMPLATE) and not os.path.exists(os.path.join(home, ".profile")):
        fill_home(home)
    env = dict(os.environ)
    language = use_language(env)  # the hub passes the participant's choice as MATCHBOX_LANG
    prepare_work_folder(language)
    os.execvpe("jupyterhub-singleuser", ["jupyterhub-singleuser", *sys.argv[1:]], env)


if __name__ == "__main__":
    main()
