"""MATCHBOX_HUB_AUTH=shared: one room password, any name, no approval (ungraded sessions only).

JupyterHub's own SharedPasswordAuthenticator checks the passwords: the room password
(MATCHBOX_HUB_ROOM_PASSWORD) signs anyone in under any participant name, never an admin's; the
admin password (MATCHBOX_HUB_ADMIN_PASSWORD) signs in the admins only. What matchbox.hub.logins
keeps in every mode stays: the strict usernames, the failed-login throttle per source address
and the login page that runs under the hub's Content-Security-Policy (with no sign-up link).

Both passwords are read from the environment and removed from it (no process the hub starts
inherits them). An empty one is generated at the first start, kept in the hub's state volume
(state_dir, mode 0600: restarts keep it) and printed once in the hub's log.

Anyone with the room password can sign in as any participant, another's name included, and see
their work: names are not identities here (docs/room.md).
"""

import os
import secrets
import sys
from pathlib import Path

from jupyterhub.authenticators.shared import SharedPasswordAuthenticator
from traitlets import Unicode

from matchbox.hub.logins import MatchboxLoginHandler, RoomLogins
from matchbox.hub.settings import HubSettings

ROOM_VARIABLE = HubSettings.room_password.metadata["env"]
ADMIN_VARIABLE = HubSettings.admin_password.metadata["env"]
ROOM_MINIMUM = SharedPasswordAuthenticator._USER_PASSWORD_MIN_LENGTH
ADMIN_MINIMUM = SharedPasswordAuthenticator._ADMIN_PASSWORD_MIN_LENGTH
# A generated room password is read out or written on a board: no 0/o, 1/l/i.
READABLE = "abcdefghjkmnpqrstuvwxyz23456789"


def room_password():
    """12 readable characters (about 59 bits) in three groups: 'k7qm-2xdr-9fhw'."""
    return "-".join("".join(secrets.choice(READABLE) for _ in range(4)) for _ in range(3))


def admin_password():
    return secrets.token_urlsafe(32)  # 43 characters, as the sign-up mode's


def password_problems(room, admin):
    """What is wrong with this pair of passwords, each sentence naming the variable and the fix."""
    problems = []
    generate = "or leave it empty and the first start generates one"
    if len(room) < ROOM_MINIMUM:
        problems.append(f"{ROOM_VARIABLE} is {len(room)} characters; it needs at least "
                        f"{ROOM_MINIMUM}: set a longer one, {generate}.")
    if len(admin) < ADMIN_MINIMUM:
        problems.append(f"{ADMIN_VARIABLE} is {len(admin)} characters; with MATCHBOX_HUB_AUTH=shared "
                        f"the admin's password needs at least {ADMIN_MINIMUM}: set a longer one, "
                        f"{generate}.")
    for variable, password in ((ROOM_VARIABLE, room), (ADMIN_VARIABLE, admin)):
        if password != password.strip():
            problems.append(f"{variable} starts or ends with a space: remove it (a login form "
                            "would have to be given the password exactly as written).")
    if room == admin:
        problems.append(f"{ROOM_VARIABLE} and {ADMIN_VARIABLE} are the same: the room password "
                        "would let every participant sign in as the admin. Set two different "
                        "passwords.")
    return problems


class RoomPasswordAuthenticator(RoomLogins, SharedPasswordAuthenticator):
    """SharedPasswordAuthenticator with our usernames, throttle and login page; its two
    passwords come from the environment or, when empty there, from state_dir."""

    state_dir = Unicode(
        "/srv/jupyterhub", config=True,
        help="Folder (the hub's state volume) where generated passwords are kept, mode 0600.")

    enable_signup = False  # the login page's sign-up link (matchbox-login.html)
    login_hint = ("Sign in with a name of your choice and the room password the instructor "
                  "gives you. Use the same name each time: your work is kept under it.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Taken out of the environment: no process the hub starts (proxy, services) inherits them.
        room = os.environ.pop(ROOM_VARIABLE, "")
        admin = os.environ.pop(ADMIN_VARIABLE, "")
        room = room or self._kept("room-password", room_password,
                                  "the room password (MATCHBOX_HUB_AUTH=shared), for every participant")
        admins = ", ".join(map(repr, sorted(self.admin_users)))
        admin = admin or self._kept("admin-password", admin_password,
                                    f"the password of admin {admins} (MATCHBOX_HUB_AUTH=shared)")
        problems = password_problems(room, admin)
        if problems:
            sys.exit("matchbox-hub: " + "\n  ".join(["cannot start the shared mode:", *problems]))
        self.user_password, self.admin_password = room, admin

    def _kept(self, name, generate, whose):
        """The password kept in state_dir/matchbox-NAME; made by generate() and printed once when
        there is none."""
        path = Path(self.state_dir) / f"matchbox-{name}"
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        password = generate()
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(password + "\n")
        print(f"matchbox-hub: {whose} (shown only this once):\n    {password}", flush=True)
        return password

    async def authenticate(self, handler, data):
        """{name, admin} when the password is the room's (a participant's name) or the admin's
        (an admin's name); None otherwise, counted against the source address, and refused before
        any password is compared while that address is throttled."""
        if self.address_refused(handler):
            return None
        name = self.normalize_username(str(data.get("username", "")))
        password = str(data.get("password", ""))
        signed_in = None
        if self.validate_username(name):
            signed_in = await super().authenticate(handler, {"username": name, "password": password})
        if signed_in is None:
            self.login_failed(handler)
        return signed_in

    def get_handlers(self, app):
        """The login page only (no sign-up, no approval pages)."""
        return [(r"/login", MatchboxLoginHandler)]
