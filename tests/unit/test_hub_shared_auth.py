"""MATCHBOX_HUB_AUTH=shared (matchbox.hub.shared_auth): the two passwords' rules, their generation
and keeping, and which password signs in which name, on the real authenticator (JupyterHub's
SharedPasswordAuthenticator underneath) without a hub. tests/test_hub_shared.py runs it in one."""

import asyncio
import os
import stat

import pytest

from matchbox.hub.settings import HubSettings, SettingsError
from matchbox.hub.shared_auth import ADMIN_VARIABLE, ROOM_VARIABLE, RoomPasswordAuthenticator, password_problems

ROOM = "room-password-1"
ADMIN = "a" * 31 + "-admin"


def start(state_dir, monkeypatch, room="", admin=""):
    """The authenticator as the hub makes it, with these passwords in the environment."""
    monkeypatch.setenv(ROOM_VARIABLE, room)
    monkeypatch.setenv(ADMIN_VARIABLE, admin)
    return RoomPasswordAuthenticator(state_dir=str(state_dir), admin_users={"instructor"})


def signs_in(authenticator, name, password):
    found = asyncio.run(authenticator.authenticate(None, {"username": name, "password": password}))
    return found and (found["name"], found["admin"])


def test_the_settings_read_the_mode_and_never_keep_the_room_password():
    assert HubSettings.from_environ({}).auth == "signup", "the default is sign-up with approval"
    assert HubSettings.from_environ({"MATCHBOX_HUB_AUTH": "Shared"}).auth == "shared"
    assert HubSettings.from_environ({ROOM_VARIABLE: ROOM}).room_password == ""
    with pytest.raises(SettingsError, match="MATCHBOX_HUB_AUTH='open': expected `signup` or `shared`"):
        HubSettings.from_environ({"MATCHBOX_HUB_AUTH": "open"})


@pytest.mark.parametrize(("room", "admin", "expected"), [
    ("short", ADMIN, f"{ROOM_VARIABLE} is 5 characters; it needs at least 8: set a longer one, or leave it empty"),
    (ROOM, "too-short-for-an-admin", f"{ADMIN_VARIABLE} is 22 characters; with MATCHBOX_HUB_AUTH=shared "
                                     "the admin's password needs at least 32"),
    (ADMIN, ADMIN, f"{ROOM_VARIABLE} and {ADMIN_VARIABLE} are the same"),
    (ROOM + " ", ADMIN, f"{ROOM_VARIABLE} starts or ends with a space"),
])
def test_a_bad_pair_of_passwords_stops_the_hub_naming_the_variable_and_the_fix(
        tmp_path, monkeypatch, room, admin, expected):
    assert any(expected in problem for problem in password_problems(room, admin)), password_problems(room, admin)
    with pytest.raises(SystemExit) as stopped:
        start(tmp_path, monkeypatch, room, admin)
    assert "matchbox-hub: cannot start the shared mode:" in str(stopped.value) and expected in str(stopped.value), \
        f"the hub should stop saying {expected!r}; it said {stopped.value}"
    assert password_problems(ROOM, ADMIN) == []


def test_empty_passwords_are_generated_once_kept_0600_and_printed_once(tmp_path, monkeypatch, capsys):
    first = start(tmp_path, monkeypatch)
    assert ROOM_VARIABLE not in os.environ and ADMIN_VARIABLE not in os.environ, \
        "the passwords stay in the environment, where the proxy would inherit them"
    printed = capsys.readouterr().out
    for password in (first.user_password, first.admin_password):
        assert f"(shown only this once):\n    {password}\n" in printed, f"{password!r} not printed once: {printed}"
    assert len(first.user_password) >= 8 and len(first.admin_password) >= 32
    for name in ("matchbox-room-password", "matchbox-admin-password"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, f"{name} is readable by others"

    again = start(tmp_path, monkeypatch)  # a restart
    assert (again.user_password, again.admin_password) == (first.user_password, first.admin_password), \
        "a restart changed the generated passwords"
    assert capsys.readouterr().out == "", "a kept password was printed again"

    given = start(tmp_path, monkeypatch, room=ROOM, admin=ADMIN)  # the environment wins
    assert (given.user_password, given.admin_password) == (ROOM, ADMIN)


def test_the_room_password_signs_in_participants_only_and_the_admin_password_the_admin_only(
        tmp_path, monkeypatch):
    hub = start(tmp_path, monkeypatch, ROOM, ADMIN)
    assert signs_in(hub, "ann", ROOM) == ("ann", False)
    assert signs_in(hub, " ＡＮＮ", ROOM) == ("ann", False), "look-alike names are one participant"
    assert not signs_in(hub, "instructor", ROOM), "the room password signed in the admin"
    assert not signs_in(hub, "Instructor", ROOM), "the room password signed in the admin (capitals)"
    assert signs_in(hub, "instructor", ADMIN) == ("instructor", True)
    assert not signs_in(hub, "ann", ADMIN), "the admin password signed in a participant"
    assert not signs_in(hub, "ann", "wrong-password")
    for name in ("émile", "a+b", "../instructor", "x" * 33, ""):
        assert not signs_in(hub, name, ROOM), f"the name {name!r} breaks the username rule"
