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


def main():
    home = os.path.expanduser("~")
    if os.path.isdir(HOME_TEMPLATE) and not os.path.exists(os.path.join(home, ".profile")):
        shutil.copytree(HOME_TEMPLATE, home, dirs_exist_ok=True, copy_function=shutil.copy)
    env = dict(os.environ)
    language = use_language(env)  # the hub passes the participant's choice as MATCHBOX_LANG
    prepare_work_folder(language)
    os.execvpe("jupyterhub-singleuser", ["jupyterhub-singleuser", *sys.argv[1:]], env)


if __name__ == "__main__":
    main()
