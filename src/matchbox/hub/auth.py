"""The room's accounts: NativeAuthenticator's sign-up and approval, hardened for a room of strangers.

- Usernames are strict and failed logins throttled per source address (matchbox.hub.logins,
  shared with the shared mode's authenticator): look-alikes map to one account, every name is
  safe in a URL, a Docker container or volume name and an nbgrader submission name, and a
  guesser locks out only their own address. Sign-ups are throttled per address and capped while
  they wait for approval.
- NativeAuthenticator's pages are replaced: ours render every value quoted and escaped
  (templates/), and every change (authorise, unauthorise, discard, a password) is a POST with the
  _xsrf token and the account in the form body. Its state-changing GET routes are gone.
- A Content-Security-Policy with a per-response nonce (ContentSecurityPolicy) on every hub
  response: no inline script or event handler runs unless our templates put it there.
"""

import os
import secrets
import sys

from jupyterhub.handlers import BaseHandler
from jupyterhub.scopes import needs_scope
from jupyterhub.utils import maybe_future
from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.orm import UserInfo
from tornado import web
from tornado.web import OutputTransform
from traitlets import Integer

from matchbox.hub.logins import (
    USERNAME_RULE,
    AddressThrottle,
    MatchboxLoginHandler,
    RoomLogins,
    refuse,
    source_address,
    throttled_message,
)
from matchbox.hub.settings import HubSettings

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")

# ---- the authenticator ---------------------------------------------------------------------------

class MatchboxAuthenticator(RoomLogins, NativeAuthenticator):
    """NativeAuthenticator with strict usernames, per-address throttles, our own pages, and the
    admin account from the environment.

    MATCHBOX_HUB_ADMIN_PASSWORD set: each admin's password is (re)set to it at every start.
    Unset: on the first start a 43-character password is generated and printed once.
    """

    signups_per_address = Integer(
        100, config=True,
        help="Sign-up attempts (the form posted, whatever the outcome) one source address may "
             "make within signup_window_seconds; beyond, every sign-up from it is refused. A "
             "room behind one NAT address signs up from a single address, retries included: "
             "keep it well above the room's size. 0: no limit.")
    signup_window_seconds = Integer(
        600, config=True, help="The window, in seconds, of signups_per_address.")
    max_pending_signups = Integer(
        200, config=True,
        help="Sign-ups waiting for approval beyond which new sign-ups are refused until the "
             "instructor approves or discards some. 0: no cap.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.signups = AddressThrottle(self.signups_per_address, self.signup_window_seconds)
        # Taken out of the environment: no process the hub starts (proxy, services) inherits it.
        password = os.environ.pop(HubSettings.admin_password.metadata["env"], "")
        os.environ.pop(HubSettings.room_password.metadata["env"], None)  # the shared mode's
        for name in sorted(self.admin_users):
            self._ensure_admin(name, password)

    def _ensure_admin(self, name, password):
        if not self.validate_username(name):
            sys.exit(f"matchbox-hub: the admin name {name!r} is not a valid username. {USERNAME_RULE}")
        user = self.get_user(name)
        if user is not None:
            if password and not self.change_password(name, password):
                sys.exit(f"matchbox-hub: MATCHBOX_HUB_ADMIN_PASSWORD is shorter than "
                         f"{self.minimum_password_length} characters or too common")
            if not user.is_authorized:  # an admin is never left unapproved (older hubs allowed it)
                user.is_authorized = True
                self.db.commit()
            return
        generated = not password
        password = password or secrets.token_urlsafe(32)
        if not self.create_user(name, password):
            sys.exit(f"matchbox-hub: cannot create the admin {name!r} (password shorter than "
                     f"{self.minimum_password_length} characters or too common?)")
        if generated:
            print(f"matchbox-hub: admin {name!r} created; its password (shown only this once):\n"
                  f"    {password}", flush=True)

    # ---- passwords ----
    def password_problem(self, password):
        """Why this password cannot be chosen, or None."""
        if password != password.strip():
            return ("Your password starts or ends with a space (or tab): remove it, or put it "
                    "inside the password. Such passwords are refused so that every login form "
                    "and client accepts the password exactly as you typed it.")
        if not self.is_password_strong(password):
            return (f"Choose a password of at least {self.minimum_password_length} characters "
                    "that is not a common password.")
        return None

    def change_password(self, username, new_password):
        if new_password != new_password.strip():
            return None
        return super().change_password(username, new_password)

    # ---- logins ----
    async def authenticate(self, handler, data):
        """The name if the password is right and the account approved; None otherwise. Refused
        before any hashing while the source address is throttled. `handler.matchbox_refusal`
        says why, for the login page."""
        if self.address_refused(handler):
            return None
        name = self.normalize_username(str(data.get("username", "")))
        password = str(data.get("password", ""))
        user = self.get_user(name) if self.validate_username(name) else None
        if user is None or not user.is_valid_password(password):
            self.login_failed(handler)
            return None
        if not (user.is_authorized or name in self.admin_users):
            refuse(handler, "unapproved")
            return None
        return name

    def pending_signups(self):
        return self.db.query(UserInfo).filter(UserInfo.is_authorized.is_(False)).count()

    def get_handlers(self, app):
        """Our handlers only: NativeAuthenticator's GET /authorize/NAME, /discard/NAME,
        /change-password/NAME and /confirm/... are not served (404)."""
        return [
            (r"/login", MatchboxLoginHandler),
            (r"/signup", SignUpHandler),
            (r"/authorize", AuthorizationAreaHandler),
            (r"/change-password", ChangePasswordHandler),
            (r"/change-password-admin", AdminChangePasswordHandler),
        ]


# ---- NativeAuthenticator's pages, ours --------------------------------------------------------

class SignUpHandler(BaseHandler):
    """/hub/signup: one form; every refusal says what to change."""

    async def get(self):
        self.finish(await self._render())

    def _render(self, message=None, alert="alert-danger", username=""):
        return self.render_template(
            "signup.html", result_message=message, alert=alert, username=username,
            username_rule=USERNAME_RULE,
            minimum_password_length=self.authenticator.minimum_password_length)

    async def post(self):
        auth = self.authenticator
        raw = self.get_body_argument("username", "", strip=False)
        password = self.get_body_argument("signup_password", "", strip=False)
        confirmation = self.get_body_argument("signup_password_confirmation", "", strip=False)
        address = source_address(self.request)
        name = auth.normalize_username(raw)
        wait = auth.signups.wait(address)
        if not wait:
            auth.signups.record(address)  # every attempt: a script trying names is a flood too
        if wait:
            self.set_status(429)
            message = throttled_message("sign-ups", wait)
        elif not auth.validate_username(name):
            message = f"This username cannot be used. {USERNAME_RULE}"
        elif auth.max_pending_signups and auth.pending_signups() >= auth.max_pending_signups:
            self.set_status(429)
            message = (f"{auth.max_pending_signups} sign-ups are already waiting for the "
                       "instructor's approval: ask the instructor to approve or discard them, "
                       "then sign up again.")
        elif auth.user_exists(name):
            message = f"The username {name!r} is taken: choose another one."
        elif password != confirmation:
            message = "The two passwords differ: type the same password twice."
        else:
            message = auth.password_problem(password)
        if message is None:
            if auth.create_user(name, password) is None:
                message = "The account could not be created: try again or ask the instructor."
            else:
                self.log.info("Sign-up of %s from %s", name, address)
                self.finish(await self._render(
                    f"Your sign-up as {name!r} was sent to the admin (the instructor): you can "
                    "log in once they approve it.", alert="alert-success"))
                return
        self.finish(await self._render(message, username=name if auth.validate_username(name) else ""))


class AuthorizationAreaHandler(BaseHandler):
    """/hub/authorize: the sign-ups, with Authorize / Unauthorize / Discard as POST forms that
    name the account by its row id in the body (names from older hubs may be anything)."""

    @needs_scope("admin:users")
    async def get(self):
        await self._render()

    async def _render(self, message=None, alert="alert-info"):
        users = self.db.query(UserInfo).order_by(UserInfo.is_authorized, UserInfo.id).all()
        self.finish(await self.render_template(
            "authorization-area.html", users=users, message=message, alert=alert,
            admins=self.authenticator.admin_users,
            valid=self.authenticator.validate_username))

    @needs_scope("admin:users")
    async def post(self):
        action = self.get_body_argument("action", "")
        try:
            row = self.db.get(UserInfo, int(self.get_body_argument("user_id", "")))
        except ValueError:
            row = None
        if row is None or action not in ("authorize", "unauthorize", "discard"):
            self.set_status(400)
            await self._render("No such sign-up or action: reload the page and try again.",
                               "alert-danger")
            return
        name = row.username
        if name in self.authenticator.admin_users:
            self.set_status(400)
            await self._render("Admin accounts are always approved: nothing changed.", "alert-danger")
            return
        if action == "discard":
            if row.is_authorized:
                self.set_status(400)
                await self._render(f"{name!r} is approved: unauthorize it first, or delete the "
                                   "user on the Admin page.", "alert-danger")
                return
            await self._discard(row)
        else:
            row.is_authorized = action == "authorize"
            self.db.commit()
        self.log.info("%s: %s %r", self.current_user.name, action, name)
        self.redirect(self.hub.base_url + "authorize")

    async def _discard(self, row):
        """Forget a sign-up; one that had logged in before being unauthorized is deleted from
        the hub as the REST API deletes a user."""
        name = row.username
        self.db.delete(row)
        self.db.commit()
        user = self.users.get(name)
        if user is not None:
            if user.spawner.active:
                await user.stop()
            await maybe_future(self.authenticator.delete_user(user))
            await user.delete_spawners()
            self.users.delete(user)


class ChangePasswordHandler(BaseHandler):
    """/hub/change-password: your own password (the current one is checked, with the login's
    per-address throttle)."""

    @web.authenticated
    async def get(self):
        self.finish(await self._render())

    def _render(self, message=None, alert="alert-danger"):
        return self.render_template("change-password.html", result_message=message, alert=alert,
                                    user_name=self.current_user.name)

    @web.authenticated
    async def post(self):
        auth = self.authenticator
        old = self.get_body_argument("old_password", "", strip=False)
        new = self.get_body_argument("new_password", "", strip=False)
        confirmation = self.get_body_argument("new_password_confirmation", "", strip=False)
        if not await auth.authenticate(self, {"username": self.current_user.name, "password": old}):
            self.set_status(403)
            message = "Your current password is wrong (or too many failed logins: wait a little)."
        elif new != confirmation:
            message = "The two new passwords differ: type the same password twice."
        else:
            message = auth.password_problem(new)
        if message is None:
            auth.change_password(self.current_user.name, new)
            message, alert = "Your password has been changed.", "alert-success"
        else:
            alert = "alert-danger"
        self.finish(await self._render(message, alert))


class AdminChangePasswordHandler(BaseHandler):
    """/hub/change-password-admin?user_id=N: the instructor sets a participant's password."""

    def _row(self):
        try:
            row = self.db.get(UserInfo, int(self.get_argument("user_id", "")))
        except ValueError:
            row = None
        if row is None:
            raise web.HTTPError(404, "No such account: go back to the authorization page.")
        return row

    @needs_scope("admin:users")
    async def get(self):
        self.finish(await self.render_template("change-password-admin.html", row=self._row()))

    @needs_scope("admin:users")
    async def post(self):
        row = self._row()
        new = self.get_body_argument("new_password", "", strip=False)
        confirmation = self.get_body_argument("new_password_confirmation", "", strip=False)
        message = ("The two passwords differ: type the same password twice." if new != confirmation
                   else self.authenticator.password_problem(new))
        if message is None:
            self.authenticator.change_password(row.username, new)
            message, alert = f"The password of {row.username!r} has been changed.", "alert-success"
        else:
            alert = "alert-danger"
        self.finish(await self.render_template("change-password-admin.html", row=row,
                                               result_message=message, alert=alert))


# ---- Content-Security-Policy -------------------------------------------------------------------

# Our templates write nonce="{{ csp_nonce }}" on their own <script> tags; csp_nonce is this
# random marker (c.JupyterHub.template_vars), which ContentSecurityPolicy replaces in each
# response by a fresh nonce that it also puts in the header. A name or message rendered into a
# page cannot carry the marker: nobody outside this process ever sees it.
NONCE_MARKER = secrets.token_urlsafe(24)  # as long as a nonce: Content-Length stays right


def content_security_policy(nonce):
    return "; ".join([
        f"script-src 'self' 'nonce-{nonce}'",  # no inline script nor on* handler without it
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


class ContentSecurityPolicy(OutputTransform):
    """Sets the Content-Security-Policy of every hub response (tornado_settings["transforms"])."""

    def __init__(self, request):
        self.nonce = secrets.token_urlsafe(24)
        self.marker, self.replacement = NONCE_MARKER.encode(), self.nonce.encode()

    def transform_first_chunk(self, status_code, headers, chunk, finishing):
        headers["Content-Security-Policy"] = content_security_policy(self.nonce)
        return status_code, headers, chunk.replace(self.marker, self.replacement)

    def transform_chunk(self, chunk, finishing):
        return chunk.replace(self.marker, self.replacement)
