"""Start a participant's JupyterLab: seed the work folder, turn the password into a hash, exec the server.

It is the image's ENTRYPOINT, so that it runs before tini: it reads $PASSWORD (or the file
$PASSWORD_FILE), hashes it, and execs `tini -g -- jupyter lab ...` with an environment that no
longer holds it, so not even PID 1 keeps the clear text. Any other command
(`docker run IMAGE bash`, the hub's start-singleuser, the grader's kernels) runs under tini as is.
"""

import errno
import os
import secrets
import shutil
import stat
import sys
from collections import defaultdict
from pathlib import Path

HANDSON = Path("/opt/matchbox/handson")
# MATCHBOX_LANG: the edition seeded into the work folder and the language of the menus, the
# locale and the figures' fonts. English is HANDSON; another language's notebooks are in
# EDITIONS/LANG/handson (the instructor's image has the course in HANDSON for every language).
EDITIONS = Path("/opt/matchbox")
LANGUAGES = {"en": "C.UTF-8", "ja": "ja_JP.UTF-8"}  # MATCHBOX_LANG -> LANG
WORK = Path.home() / "work"
# Seeding writes each file under this prefix first, then links it into place; a start that died
# half-way leaves such a file behind, and the next start removes it.
TEMP_PREFIX = ".matchbox-seed-"
# Filesystems without hard links (some host bind mounts) answer os.link with one of these.
NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK}


def refuse(message):
    """Stop before the server starts, saying what is wrong and how to fix it."""
    print(f"start-lab: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def refuse_root():
    """Running as root would leave every seeded notebook owned by root: read-only for the learner."""
    if os.geteuid() == 0:
        refuse("refusing to run as root (uid 0): the notebooks it copied into the work folder would "
               "belong to root and be read-only for you. The image's user is jovyan (uid 1000): run "
               "it without `-u root` / `--user 0` (docker run) or `user:` (compose). Nothing was "
               "written to the work folder.")


# ---- seeding -----------------------------------------------------------------------------------

class Seeding:
    """What seeding did, for the log: files added or repaired, and what it had to skip."""

    def __init__(self):
        self.added, self.repaired, self.leftovers = [], [], []
        self.clashes = []  # (path in the work folder, what is there, what belongs there)
        self.failed = defaultdict(list)  # reason -> paths not copied
        self.not_ours = []  # existing hands-on files owned by another uid (an earlier root start)


def seed(source, work):
    """Copy the hands-on files into the work folder; a learner's file is never overwritten.

    Each file is written to a temporary name beside its target, flushed, then hard-linked into
    place (which fails if the name exists) or, where hard links are missing, renamed over an empty
    placeholder made with O_EXCL. A hands-on file that is an exact prefix of the image's (an
    earlier start ran out of space) is replaced; anything else already there is left as it is.
    """
    seeding = Seeding()
    seed_folder(source, work, work, seeding)
    return seeding


def seed_folder(source, target, work, seeding):
    """Seed one folder: clear leftover temporary files, then each entry (folders recursively)."""
    remove_leftovers(target, work, seeding)
    for path in sorted(source.iterdir()):
        destination = target / path.name
        if path.is_dir():
            if make_folder(path, destination, work, seeding):
                seed_folder(path, destination, work, seeding)
        else:
            seed_file(path, destination, work, seeding)


def remove_leftovers(folder, work, seeding):
    """Delete the temporary files a start that died half-way left in this folder."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return  # an unreadable folder: seeding it fails below, with its reason in the log
    for entry in entries:
        if entry.name.startswith(TEMP_PREFIX) and not entry.is_dir(follow_symlinks=False):
            try:
                os.unlink(entry.path)
                seeding.leftovers.append(Path(entry.path).relative_to(work))
            except OSError:
                pass  # still there next time; it is hidden and harmless


def make_folder(source, target, work, seeding):
    """Make the hands-on folder; False (logged) when something else has its name or it cannot be made."""
    try:
        target.mkdir()
        return True
    except FileExistsError:
        kind = kind_of(target)
        if kind == "folder":
            return True
        seeding.clashes.append((target.relative_to(work), kind, "folder"))
    except OSError as error:
        files = [(target / p.relative_to(source)).relative_to(work) for p in source.rglob("*") if p.is_file()]
        seeding.failed[error.strerror or str(error)].extend(files)
    return False


def kind_of(path):
    """'folder', 'file', 'symbolic link' or 'special file', without following a link."""
    mode = os.lstat(path).st_mode
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISLNK(mode):
        return "symbolic link"
    return "file" if stat.S_ISREG(mode) else "special file"


def seed_file(source, target, work, seeding):
    """Copy one hands-on file unless the learner has one there; repair a truncated copy."""
    name = target.relative_to(work)
    try:
        try:
            existing = os.lstat(target)
        except FileNotFoundError:
            existing = None
        if existing is None:
            if write_atomically(source, target, replace=False):
                seeding.added.append(name)
            return
        if not stat.S_ISREG(existing.st_mode):
            seeding.clashes.append((name, kind_of(target), "file"))
            return
        if existing.st_uid != os.geteuid():
            seeding.not_ours.append(name)
        elif is_truncated_copy(source, target, existing.st_size):
            write_atomically(source, target, replace=True)
            seeding.repaired.append(name)
    except OSError as error:
        seeding.failed[error.strerror or str(error)].append(name)


def is_truncated_copy(source, target, size):
    """Is the target a strict prefix of the image's file (empty included)? A learner's edit is not."""
    if size >= source.stat().st_size:
        return False
    with open(target, "rb") as copy, source.open("rb") as original:
        return copy.read() == original.read(size)


def write_atomically(source, target, replace):
    """Write source's bytes to a temporary name, flush them, then put them at target.

    replace=False never overwrites: returns False if target appeared meanwhile. On any error the
    temporary file is removed and the error raised: no partial file is ever left at target.
    """
    temporary = target.with_name(f"{TEMP_PREFIX}{target.name}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as original:
            shutil.copyfileobj(original, out)
            out.flush()
            os.fsync(out.fileno())
        if replace:
            os.replace(temporary, target)
            return True
        return link_into_place(temporary, target)
    finally:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass


def link_into_place(temporary, target):
    """Give the finished file its name without overwriting anything; False if the name is taken."""
    try:
        os.link(temporary, target, follow_symlinks=False)
        return True
    except FileExistsError:
        return False
    except OSError as error:
        if error.errno not in NO_HARD_LINKS:
            raise
    try:  # no hard links here: claim the name with O_EXCL, then rename the full file over it
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644))
    except FileExistsError:
        return False
    os.replace(temporary, target)
    return True


def report(seeding, work):
    """One log line per thing the learner or instructor may need to act on."""
    print(f"start-lab: {len(seeding.added)} new file(s) copied into {work}; "
          "existing files were left as they are", flush=True)
    if seeding.repaired:
        print(f"start-lab: repaired {len(seeding.repaired)} hands-on file(s) an earlier start left "
              f"cut short: {', '.join(map(str, seeding.repaired))}", flush=True)
    if seeding.leftovers:
        print(f"start-lab: removed {len(seeding.leftovers)} temporary file(s) an earlier start left: "
              f"{', '.join(map(str, seeding.leftovers))}", flush=True)
    for name, found, expected in seeding.clashes:
        print(f"start-lab: skipped {work / name}: it is a {found} where the hands-on {expected} "
              f"{name} belongs, so that {expected} was not copied. Rename or move it (in the file "
              "browser or a terminal) and restart the lab to get the hands-on copy.", flush=True)
    for reason, names in seeding.failed.items():
        print(f"start-lab: {len(names)} hands-on file(s) could not be copied into {work} ({reason}): "
              f"{', '.join(map(str, names))}. Nothing half-written was left. Free some space in the "
              "work folder (delete files you do not need), then restart the lab to copy them.",
              flush=True)
    if seeding.not_ours:
        print(f"start-lab: {len(seeding.not_ours)} hands-on file(s) in {work} belong to another user "
              f"(uid {os.lstat(work / seeding.not_ours[0]).st_uid}, an earlier start as root?) and may "
              "be read-only for you. Give them back to uid 1000 once: docker run --rm -u root "
              "-v VOLUME:/home/jovyan/work --entrypoint chown IMAGE -R 1000:100 /home/jovyan/work",
              flush=True)


def use_language(env):
    """Check MATCHBOX_LANG (en, the default, or ja) and set the locale for it in env (LANG,
    which the server, its kernels and terminals inherit); returns the language."""
    language = env.get("MATCHBOX_LANG", "").strip().lower() or "en"
    language = {"ja_jp": "ja", "ja-jp": "ja", "jp": "ja", "japanese": "ja", "english": "en"}.get(language, language)
    if language not in LANGUAGES:
        refuse(f"MATCHBOX_LANG={env['MATCHBOX_LANG']!r} is not a language of this workshop: use "
               + " or ".join(f"MATCHBOX_LANG={code}" for code in LANGUAGES)
               + " (English is the default).")
    env["MATCHBOX_LANG"] = language
    env["LANG"] = LANGUAGES[language]
    env.pop("LC_ALL", None)
    return language


def edition(language):
    """The folder of the hands-on notebooks in this language (English where there is no other)."""
    folder = EDITIONS / language / "handson"
    return folder if language != "en" and folder.is_dir() else HANDSON


def prepare_work_folder(language="en"):
    """Refuse root, check the work folder is writable, then seed it with the notebooks in the
    language; start-singleuser (the hub) calls this too."""
    refuse_root()
    if not WORK.is_dir() or not os.access(WORK, os.W_OK):
        refuse(f"the work folder {WORK} is missing or not writable by uid {os.getuid()}. "
               "A bind-mounted host folder must be writable by uid 1000 (chown 1000 DIR), "
               "or use a named volume (docker run -v matchbox-work:/home/jovyan/work ...).")
    source = edition(language)
    if source != HANDSON:
        print(f"start-lab: MATCHBOX_LANG={language}: the notebooks, menus and locale in "
              f"{language} ({source})", flush=True)
    report(seed(source, WORK), WORK)


# ---- the password --------------------------------------------------------------------------------

def read_password(env):
    """The clear password from $PASSWORD or the file $PASSWORD_FILE (both removed from env), or None.

    Spaces (any whitespace) at either end are not part of it: the login form strips what is typed
    the same way, and a file's final newline goes too. An empty PASSWORD_FILE next to a PASSWORD is
    compose's stand-in (docker-compose.yml always mounts the secret): PASSWORD is used.
    """
    from_file = read_password_file(env.pop("PASSWORD_FILE")) if "PASSWORD_FILE" in env else None
    from_env = env.pop("PASSWORD", None)
    if from_file and from_file[1].strip() and from_env is not None:
        refuse(f"both PASSWORD and {from_file[0]} are set: set only one. The file keeps the password "
               "out of `docker inspect` and out of every process's environment.")
    if from_env is not None:
        origin, text = "PASSWORD", from_env
    elif from_file:
        origin, text = from_file
    else:
        return None
    password = text.strip()
    if not password:
        refuse(f"{origin} is set but empty, which would leave the lab open. Choose a password: "
               "PASSWORD=... docker compose up (docker run -e PASSWORD=...), or a file holding it: "
               "MATCHBOX_PASSWORD_FILE=FILE docker compose up (docker run -e PASSWORD_FILE=...). "
               "With plain docker run, leaving both unset logs in with a generated token.")
    if origin == "PASSWORD" and password != text:
        print("start-lab: PASSWORD starts or ends with spaces; they are not part of the password "
              "(the login form drops them too)", flush=True)
    return password


def read_password_file(path):
    """(origin, text) of the password file, or a refusal saying how to provide it."""
    try:
        return f"PASSWORD_FILE ({path})", Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        refuse(f"PASSWORD_FILE={path} cannot be read ({getattr(error, 'strerror', None) or error}). "
               "Mount the password file there as UTF-8 text readable by uid 1000: with compose, "
               "MATCHBOX_PASSWORD_FILE=FILE (chown 1000 FILE; chmod 600 FILE); with "
               f"docker run, --mount type=bind,src=FILE,dst={path},readonly.")


def password_args(env):
    """Server options for the password (hashed with argon2, removed from env) and $JUPYTER_TOKEN."""
    args = []
    password = read_password(env)
    if password is not None:
        from jupyter_server.auth import passwd

        args.append(f"--PasswordIdentityProvider.hashed_password={passwd(password)}")
    if "JUPYTER_TOKEN" in env and not env["JUPYTER_TOKEN"].strip():
        refuse("JUPYTER_TOKEN is set but empty, which would leave the lab open. "
               "Set a token (-e JUPYTER_TOKEN=...), or leave it unset to get a generated one.")
    return args


# ---- the entrypoint ----------------------------------------------------------------------------

def exec_under_init(command, env):
    """As PID 1, become tini (it forwards signals and reaps zombies) running command; else exec it."""
    if os.getpid() == 1:
        os.execvpe("tini", ["tini", "-g", "--", *command], env)
    os.execvpe(command[0], command, env)


def main(argv=None):
    """The console script start-lab (the image's ENTRYPOINT)."""
    command = (sys.argv if argv is None else argv)[1:]
    if command and Path(command[0]).name == "start-lab":  # `docker run IMAGE start-lab ...`
        command = command[1:]
    if command and not command[0].startswith("-"):  # another program: not the lab
        exec_under_init(command, dict(os.environ))
    refuse_root()  # before anything reads the password or touches the volume
    env = dict(os.environ)
    language = use_language(env)
    args = password_args(env)
    prepare_work_folder(language)
    if any(arg.startswith("--PasswordIdentityProvider.hashed_password") for arg in args):
        print("start-lab: log in with the workshop PASSWORD at http://localhost:8888", flush=True)
    exec_under_init(["jupyter", "lab", *args, *command], env)


if __name__ == "__main__":
    main()
