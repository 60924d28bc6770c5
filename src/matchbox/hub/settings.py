"""Every setting of the hub, declared once: the MATCHBOX_HUB_* environment variables it reads.

Each trait of HubSettings is one variable (its `env` metadata): its type, default and help live
here and nowhere else. hub/jupyterhub_config.py and the start step (matchbox.hub.start) read
them through load(); docker-compose.yml forwards each to the hub's container, and docs/room.md
lists them in a table generated from this declaration:

    python -m matchbox.hub.settings --update docs/room.md     (--markdown prints it)

Without an option it prints the settings the environment gives (the admin password left out).

tests/unit/test_hub_settings.py fails when either of those disagrees with this file.
"""

import argparse
import os
import sys

from jupyterhub.traitlets import ByteSpecification
from traitlets import CaselessStrEnum, Float, HasTraits, Integer, TraitError, TraitType, Unicode


class SettingsError(ValueError):
    """One or more variables have values the hub cannot use; the message names each."""


class Size(ByteSpecification):
    """A size in bytes, written as in JupyterHub's own configuration ('512M', '2G'; 1024-based),
    or a plain number of bytes; '0' or '' is 0."""

    allow_none = False

    def from_string(self, s):
        # ByteSpecification parses the suffixes (validate); it cannot read '0' or a bare number.
        s = s.strip()
        return int(s or 0) if s.isdigit() or not s else s


def _knob(trait, variable, help, **metadata):
    return trait.tag(env=variable, help_text=help, **metadata)


class HubSettings(HasTraits):
    """The hub's settings, filled from the environment by from_environ()."""

    # ---- names and images -------------------------------------------------------------------
    prefix = _knob(Unicode("matchbox-hub"), "MATCHBOX_HUB_PREFIX",
                   "Names of what the hub creates in Docker: `PREFIX-NAME` containers, "
                   "`PREFIX-user-NAME` volumes, the `PREFIX` network and the `PREFIX-exchange` "
                   "and `PREFIX-inbound` volumes (compose names the network and exchange from it).")
    user_image = _knob(Unicode("matchbox-hub-user:latest"), "MATCHBOX_HUB_USER_IMAGE",
                       "The participants' image, also the grading kernels' image. docker-compose.yml "
                       "sets it to `matchbox-hub-user:${MATCHBOX_HUB_TAG}` (the image it builds).",
                       compose="matchbox-hub-user:${MATCHBOX_HUB_TAG:-latest}")
    instructor_image = _knob(Unicode("matchbox-hub-instructor:latest"), "MATCHBOX_HUB_INSTRUCTOR_IMAGE",
                             "The admin's image (the course, formgrader, `grade`). docker-compose.yml "
                             "sets it to `matchbox-hub-instructor:${MATCHBOX_HUB_TAG}`.",
                             compose="matchbox-hub-instructor:${MATCHBOX_HUB_TAG:-latest}")

    language = _knob(CaselessStrEnum(["en", "ja"], default_value="en"), "MATCHBOX_HUB_LANG",
                     "The language preselected when a participant starts their server (each "
                     "chooses on the start page): the notebooks, JupyterLab's menus and the "
                     "locale (MATCHBOX_LANG of the image).")

    # ---- accounts ---------------------------------------------------------------------------
    admin = _knob(Unicode("instructor"), "MATCHBOX_HUB_ADMIN", "The instructor's (admin's) account name.")
    # Read by the authenticator itself, which removes it from the environment so that no process
    # the hub starts inherits it (matchbox.hub.auth); never part of a HubSettings object.
    admin_password = _knob(Unicode(""), "MATCHBOX_HUB_ADMIN_PASSWORD",
                           "The admin's password, (re)set at every start. Empty: the first start "
                           "generates one and prints it once.", secret=True)
    min_password = _knob(Integer(8, min=1), "MATCHBOX_HUB_MIN_PASSWORD",
                         "Shortest password a sign-up may choose.")
    failed_logins = _knob(Integer(5, min=0), "MATCHBOX_HUB_FAILED_LOGINS",
                          "Failed logins from one source address within the lockout window after "
                          "which that address (only) is refused. 0: no throttle.")
    lockout_seconds = _knob(Integer(120, min=1), "MATCHBOX_HUB_LOCKOUT_SECONDS",
                            "The window of MATCHBOX_HUB_FAILED_LOGINS, in seconds.")
    signups_per_address = _knob(Integer(100, min=0), "MATCHBOX_HUB_SIGNUPS_PER_ADDRESS",
                                "Sign-up attempts one source address may make per sign-up window "
                                "(a room behind one NAT shares an address). 0: no limit.")
    signup_window_seconds = _knob(Integer(600, min=1), "MATCHBOX_HUB_SIGNUP_WINDOW_SECONDS",
                                  "The window of MATCHBOX_HUB_SIGNUPS_PER_ADDRESS, in seconds.")
    max_pending_signups = _knob(Integer(200, min=0), "MATCHBOX_HUB_MAX_PENDING_SIGNUPS",
                                "Sign-ups waiting for approval beyond which sign-ups are refused. "
                                "0: no cap.")
    auth = _knob(CaselessStrEnum(["signup", "shared"], default_value="signup"), "MATCHBOX_HUB_AUTH",
                 "`signup`: participants sign up and the instructor approves each. `shared` "
                 "(ungraded sessions only): anyone with the room password signs in under any "
                 "name, another's included; no approval.")
    # Read and removed from the environment by the shared mode's authenticator, as the admin
    # password (matchbox.hub.shared_auth).
    room_password = _knob(Unicode(""), "MATCHBOX_HUB_ROOM_PASSWORD",
                          "With MATCHBOX_HUB_AUTH=shared: the participants' password, at least 8 "
                          "characters. Empty: the first start generates one, keeps it in the hub's "
                          "state volume and prints it once.", secret=True)

    # ---- the exchange and grading -----------------------------------------------------------
    instructor_gid = _knob(Integer(2000, min=1), "MATCHBOX_HUB_INSTRUCTOR_GID",
                           "Group of the admin's server and of the exchange's folders.")
    participant_gid_base = _knob(Integer(10000, min=1), "MATCHBOX_HUB_PARTICIPANT_GID_BASE",
                                 "Each participant's server runs with group BASE + the hub's user "
                                 "id (the roster maps names to groups).")
    inbound_limit = _knob(Size("4G"), "MATCHBOX_HUB_INBOUND_LIMIT",
                          "Size of the exchange's inbound volume (all submissions together). "
                          "0: a plain volume, no limit.")
    grading_dir = _knob(Unicode("/var/lib/matchbox-hub/grading"), "MATCHBOX_HUB_GRADING_DIR",
                        "Host folder of the grading sandbox service's socket and kernels (mounted "
                        "at the same path). Empty: no grading in the hub.", empty_allowed=True)

    # ---- the room view (src/matchbox/hub/room) ---------------------------------------------
    room_group = _knob(Unicode(""), "MATCHBOX_HUB_ROOM_GROUP",
                       "A JupyterHub group whose members (assistants) may open the room view at "
                       "/services/room/ besides the admins; they are not shown in it. Empty: admins only.",
                       empty_allowed=True)
    room_assignments = _knob(Unicode(""), "MATCHBOX_HUB_ROOM_ASSIGNMENTS",
                             "The assignments the room view shows, comma-separated (e.g. "
                             "`01-matchbox,02-perceptron`). Empty: those released to the exchange, "
                             "or else every `NN-name` folder in a participant's work.",
                             empty_allowed=True)
    room_refresh = _knob(Float(3.0, min=0.5), "MATCHBOX_HUB_ROOM_REFRESH",
                         "Seconds between two reads of the participants' notebooks by the room view "
                         "(its page asks as often).")
    room_idle = _knob(Integer(600, min=1), "MATCHBOX_HUB_ROOM_IDLE",
                      "Seconds without activity, while others are active, after which the room "
                      "view counts a participant among the stuck.")

    # ---- each participant's container -------------------------------------------------------
    mem_limit = _knob(Size("3G"), "MATCHBOX_HUB_MEM_LIMIT",
                      "Memory of each server (no swap beyond it). 0: no limit.")
    cpu_limit = _knob(Float(1.0, min=0.0), "MATCHBOX_HUB_CPU_LIMIT",
                      "CPU cores of each participant's server.")
    pids_limit = _knob(Integer(1024, min=0), "MATCHBOX_HUB_PIDS_LIMIT",
                       "Processes and threads in each server.")
    tmp_limit = _knob(Size("1G"), "MATCHBOX_HUB_TMP_LIMIT",
                      "Size of each server's /tmp (a tmpfs, counted in its memory). 0: bounded by "
                      "the memory only.")
    disk_limit = _knob(Size("2G"), "MATCHBOX_HUB_DISK_LIMIT",
                       "Size of each participant's work volume. 0: plain volumes, no limit.")
    disks_dir = _knob(Unicode("/var/lib/matchbox-hub/disks"), "MATCHBOX_HUB_DISKS_DIR",
                      "Host folder of the size-capped volumes' files and of archive/ (mounted at "
                      "the same path).")
    start_timeout = _knob(Integer(180, min=1), "MATCHBOX_HUB_START_TIMEOUT",
                          "Seconds a server may take to start and to answer.")
    concurrent_spawns = _knob(Integer(40, min=0), "MATCHBOX_HUB_CONCURRENT_SPAWNS",
                              "Servers starting at once (more wait). 0: no limit.")
    cull_timeout = _knob(Integer(3600, min=0), "MATCHBOX_HUB_CULL_TIMEOUT",
                         "Seconds of inactivity after which a server is stopped (its work kept). "
                         "0: no culler.")
    cull_every = _knob(Integer(0, min=0), "MATCHBOX_HUB_CULL_EVERY",
                       "Seconds between the culler's checks. 0: a sixth of the cull timeout, at "
                       "least 10.")

    # ---- several machines: a Docker Swarm (src/matchbox/hub/swarm.py, docs/scale.md) ----------
    spawner = _knob(CaselessStrEnum(["docker", "swarm"], default_value="docker"), "MATCHBOX_HUB_SPAWNER",
                    "`docker`: every server a container on the hub's machine. `swarm`: every server "
                    "a service of the Docker Swarm the hub runs on, on the least-loaded node and "
                    "kept there (deploy/swarm/stack.yml, docs/scale.md); plain volumes, no disk "
                    "limits.")
    exchange_dir = _knob(Unicode("/srv/matchbox-hub/exchange"), "MATCHBOX_HUB_EXCHANGE_DIR",
                         "With MATCHBOX_HUB_SPAWNER=swarm: the nbgrader exchange's folder, at this "
                         "path on every node (a shared filesystem such as NFS).")

    # ---- names derived from the prefix ------------------------------------------------------
    @property
    def exchange_volume(self):
        return f"{self.prefix}-exchange"

    @property
    def inbound_volume(self):
        return f"{self.prefix}-inbound"

    @property
    def cull_interval(self):
        return self.cull_every or max(self.cull_timeout // 6, 10)

    @classmethod
    def knobs(cls):
        """{trait name: trait} of every declared variable, in declaration order (class_traits sorts
        by name)."""
        return {name: value for name, value in vars(cls).items()
                if isinstance(value, TraitType) and "env" in value.metadata}

    @classmethod
    def from_environ(cls, environ=None):
        """The settings from `environ` (os.environ); SettingsError names every bad variable."""
        environ = os.environ if environ is None else environ
        settings, problems = cls(), []
        for name, trait in cls.knobs().items():
            text = environ.get(trait.metadata["env"])
            if text is None or trait.metadata.get("secret"):
                continue
            try:
                setattr(settings, name, trait.from_string(text))
            except (TraitError, ValueError):
                problems.append(f"{trait.metadata['env']}={text!r}: expected {kind(trait)}")
        if problems:
            raise SettingsError("\n  ".join(["cannot use these settings (docs/room.md):", *problems]))
        return settings


def kind(trait):
    """What a variable accepts, in words (the docs' table and the error messages)."""
    if isinstance(trait, Size):
        return "a size: bytes, or a number with K, M, G or T"
    if isinstance(trait, Integer):
        return f"a whole number, {trait.min} or more"
    if isinstance(trait, Float):
        return f"a number, {trait.min:g} or more"
    if isinstance(trait, CaselessStrEnum):
        return " or ".join(f"`{value}`" for value in trait.values)
    return "text"


def default_text(trait):
    """The default as written in the environment."""
    value = trait.default_value
    return f"{value:g}" if isinstance(value, float) else str(value)


def compose_value(trait):
    """The hub's environment entry for this variable in docker-compose.yml."""
    if "compose" in trait.metadata:
        return trait.metadata["compose"]
    # ${VAR-default} keeps an empty value (grading off); ${VAR:-default} replaces it.
    operator = "-" if trait.metadata.get("empty_allowed") else ":-"
    return f"${{{trait.metadata['env']}{operator}{default_text(trait)}}}"


# docs/room.md's table sits between these two lines (--update rewrites it there).
BEGIN = "<!-- settings: generated by `python -m matchbox.hub.settings --update docs/room.md` -->"
END = "<!-- end of settings -->"


def markdown():
    """The table of docs/room.md."""
    rows = ["| Variable | Accepts | Default | What it sets |", "|---|---|---|---|"]
    for trait in HubSettings.knobs().values():
        default = f"`{default_text(trait)}`" if default_text(trait) else "(empty)"
        rows.append(f"| `{trait.metadata['env']}` | {kind(trait)} | {default} | "
                    f"{trait.metadata['help_text']} |")
    return "\n".join(rows) + "\n"


def load():
    """The settings from os.environ; a bad value stops the hub with a message naming it."""
    try:
        return HubSettings.from_environ()
    except SettingsError as problem:
        sys.exit(f"matchbox-hub: {problem}")


def update(path):
    """Put the table between BEGIN and END in the markdown file at `path`."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    head, found, rest = text.partition(BEGIN + "\n")
    if not found or END not in rest:
        sys.exit(f"{path} has no lines {BEGIN!r} ... {END!r} to put the table between")
    with open(path, "w", encoding="utf-8") as f:
        f.write(head + BEGIN + "\n" + markdown() + END + rest.partition(END)[2])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print docs/room.md's table")
    parser.add_argument("--update", metavar="DOC", help="rewrite the table in DOC (docs/room.md)")
    args = parser.parse_args(argv)
    if args.markdown:
        sys.stdout.write(markdown())
    elif args.update:
        update(args.update)
    else:
        settings = load()
        for name, trait in HubSettings.knobs().items():
            if not trait.metadata.get("secret"):
                print(f"{trait.metadata['env']}={getattr(settings, name)}")


if __name__ == "__main__":
    main()
