"""The room's accounts: NativeAuthenticator's sign-up and approval, hardened for a room of strangers.

- Usernames are NFKC-normalised, lower-cased and must match USERNAME_PATTERN everywhere a name
  enters the hub (sign-up, login, the REST API, config): look-alikes map to one account, and
  every name is safe in a URL, a Docker container or volume name and an nbgrader submission name.
- NativeAuthenticator's pages are replaced: ours render every value quoted and escaped
  (templates/), and every change (authorise, unauthorise, discard, a password) is a POST with the
  _xsrf token and the account in the form body. Its state-changing GET routes are gone.
- Failed logins are throttled per source address, never per account: a guesser locks out only
  their own address; the instructor signs in from another one. Sign-ups are throttled per
  address and capped while they wait for approval.
- A Content-Security-Policy with a per-response nonce (ContentSecurityPolicy) on every hub
  response: no inline script or event handler runs unless our templates put it there.
"""

import collections
import ipaddress
import os
import re
import secrets
import sys
import time
import unicodedata

from jupyterhub.handlers import BaseHandler
from jupyterhub.handlers.login import LoginHandler
from jupyterhub.scopes import needs_scope
from jupyterhub.utils import maybe_future
from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.orm import UserInfo
from tornado import web
from tornado.web import OutputTransform
from traitlets import Integer, default

from matchbox.hub.settings import HubSettings

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")

USERNAME_PATTERN = r"[a-z0-9][a-z0-9_-]{0,31}"
USERNAME_RULE = ("A username is 1 to 32 characters: lower-case letters a-z, digits, '-' and '_', "
                 "starting with a letter or a digit (capitals become lower-case; accents, spaces "
                 "and other signs are not allowed, e.g. 'emile' for 'Émile').")


# ---- where a request comes from ----------------------------------------------------------------

def _ip(text):
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    # CHP listens on both stacks: an IPv4 client arrives as ::ffff:a.b.c.d
    return str(getattr(address, "ipv4_mapped", None) or address)


def source_address(request):
    """The address that sent this request, as far as the hub can tell without trusting the client.

    The hub sits behind configurable-http-proxy in the same container: CHP appends the address
    it received the request from as the LAST X-Forwarded-For hop. Every other hop, and
    X-Real-Ip (which tornado's xheaders would prefer), is whatever the client wrote. A request
    that did not come through CHP (a container talking to the hub's port directly) is known by
    its own socket address."""
    context = request.connection.context
    peer = context.address[0] if isinstance(context.address, tuple) else ""
    try:
        local = request.connection.stream.socket.getsockname()[0]
    except (AttributeError, OSError):
        local = None
    through_proxy = peer and (ipaddress.ip_address(peer).is_loopback or peer == local)
    if through_proxy:
        hops = ",".join(request.headers.get_list("X-Forwarded-For")).split(",")
        last = _ip(hops[-1]) if hops else None
        if last:
            return last
    return peer or "unknown"


class AddressThrottle:
    """At most `limit` events per address in any `window` seconds (a sliding window)."""

    def __init__(self, limit, window):
        self.limit, self.window = limit, window
        self.events = collections.defaultdict(collections.deque)

    def _recent(self, address, now):
        events = self.events.get(address)
        if events is None:
            return ()
        while events and events[0] <= now - self.window:
            events.popleft()
        if not events:
            del self.events[address]
        return events

    def wait(self, address):
        """Seconds until this address may try again (0: now)."""
        if self.limit <= 0:
            return 0
        now = time.monotonic()
        events = self._recent(address, now)
        if len(events) < self.limit:
            return 0
        return max(1, int(events[-self.limit] + self.window - now + 0.999))

    def record(self, address):
        if self.limit <= 0:
            return
        self.events[address].append(time.monotonic())
        if len(self.events) > 10000:  # forget idle addresses now and then
            now = time.monotonic()
            for stale in [a for a, e in self.events.items() if e[-1] <= now - self.window]:
                del self.events[stale]


# ---- the authenticator ---------------------------------------------------------------------------

class MatchboxAuthenticator(NativeAuthenticator):
    """NativeAuthenticator with strict usernames, per-address throttles, our own pages, and the
    admin account from the environment.

    MATCHBOX_HUB_ADMIN_PASSWORD set: each admin's password is (re)set to it at every start.
    Unset: on the first start a 43-character password is generated and printed once.
    """

    failed_logins_per_address = Integer(
        5, config=True,
        help="Failed logins (any account) from one source address within "
             "address_lockout_seconds after which that address is refused, before any password "
             "is checked, until the oldest of them is that old. Other addresses are never "
             "affected. 0: no throttle.")
    address_lockout_seconds = Integer(
        120, config=True, help="The window, in seconds, of failed_logins_per_address.")
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

    @default("username_pattern")
    def _username_pattern(self):
        # JupyterHub's own check (Authenticator.validate_username, used by every path that
        # creates a user: REST API, config, login); \Z, as $ would accept a final newline.
        return rf"^{USERNAME_PATTERN}\Z"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.login_failures = AddressThrottle(self.failed_logins_per_address,
                                              self.address_lockout_seconds)
        self.signups = AddressThrottle(self.signups_per_address, self.signup_window_seconds)
        # Taken out of the environment: no process the hub starts (proxy, services) inherits it.
        password = os.environ.pop(HubSettings.admin_password.metadata["env"], "")
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

    # ---- names ----
    def normalize_username(self, username):
        """NFKC (full-width and other compatibility forms become plain letters), lower case,
        surrounding whitespace dropped; then JupyterHub's username_map."""
        return super().normalize_username(unicodedata.normalize("NFKC", username).strip())

    def validate_username(self, username):
        return bool(re.fullmatch(USERNAME_PATTERN, username)) and super().validate_username(username)

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
        address = source_address(handler.request) if handler is not None else None
        refuse = (lambda why: setattr(handler, "matchbox_refusal", why)) if handler else (lambda why: None)
        if address and self.login_failures.wait(address):
            refuse("throttled")
            self.log.warning("Login refused: too many failed logins from %s", address)
            return None
        name = self.normalize_username(str(data.get("username", "")))
        password = str(data.get("password", ""))
        user = self.get_user(name) if self.validate_username(name) else None
        if user is None or not user.is_valid_password(password):
            if address:
                self.login_failures.record(address)
            refuse("wrong")
            return None
        if not (user.is_authorized or name in self.admin_users):
            refuse("unapproved")
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


# ---- pages -------------------------------------------------------------------------------------

def throttled_message(what, seconds):
    minutes = (seconds + 59) // 60
    wait = f"{seconds} seconds" if seconds < 120 else f"{minutes} minutes"
    return (f"Too many {what} from your network address: try again in {wait}. Other addresses "
            "are not affected; if you share this address with the room, ask the instructor.")


class MatchboxLoginHandler(LoginHandler):
    """The login form (templates/matchbox-login.html); the REST token route uses the same
    authenticate, hence the same throttle."""

    def _render(self, login_error=None, username=None, **kwargs):
        return self.render_template(
            "matchbox-login.html",
            next=self.get_argument("next", default=""),
            username=username, login_error=login_error,
            login_url=self.settings["login_url"],
            enable_signup=self.authenticator.enable_signup, **kwargs)

    async def post(self):
        data = {"username": self.get_body_argument("username", "", strip=False),
                "password": self.get_body_argument("password", "", strip=False)}
        user = await self.login_user(data)
        if user:
            self._jupyterhub_user = user
            self.redirect(self.get_next_url(user))
            return
        self.finish(await self._render(login_error=self._refusal_message(),
                                       username=data["username"][:64]))

    def _refusal_message(self):
        why = getattr(self, "matchbox_refusal", "wrong")
        if why == "throttled":
            self.set_status(429)
            wait = self.authenticator.login_failures.wait(source_address(self.request))
            return throttled_message("failed logins", wait)
        self.set_status(403)
        if why == "unapproved":
            return ("Your account has not been authorized by the instructor yet: ask them to "
                    "approve it, then log in again.")
        return "Wrong username or password."


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
