"""What every matchbox authenticator keeps, whatever checks the password (the sign-up mode's
MatchboxAuthenticator in matchbox.hub.auth, the shared mode's RoomPasswordAuthenticator in
matchbox.hub.shared_auth):

- Usernames are NFKC-normalised, lower-cased and must match USERNAME_PATTERN everywhere a name
  enters the hub (login, the REST API, config).
- Failed logins are throttled per source address, never per account: a guesser locks out only
  their own address; the instructor signs in from another one.
- The login page (templates/matchbox-login.html, no inline script) says why a login was refused.
"""

import collections
import ipaddress
import re
import time
import unicodedata

from jupyterhub.handlers.login import LoginHandler
from traitlets import Integer, default
from traitlets.config import Configurable

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


# ---- names and the failed-login throttle -------------------------------------------------------

def refuse(handler, why):
    """Tell the login page (MatchboxLoginHandler) why the login was refused."""
    if handler is not None:
        handler.matchbox_refusal = why


class RoomLogins(Configurable):
    """Strict usernames and the failed-login throttle per source address, whatever checks the
    password: mixed in before the JupyterHub authenticator (MatchboxAuthenticator in
    matchbox.hub.auth, RoomPasswordAuthenticator in matchbox.hub.shared_auth)."""

    failed_logins_per_address = Integer(
        5, config=True,
        help="Failed logins (any account) from one source address within "
             "address_lockout_seconds after which that address is refused, before any password "
             "is checked, until the oldest of them is that old. Other addresses are never "
             "affected. 0: no throttle.")
    address_lockout_seconds = Integer(
        120, config=True, help="The window, in seconds, of failed_logins_per_address.")

    @default("username_pattern")
    def _username_pattern(self):
        # JupyterHub's own check (Authenticator.validate_username, used by every path that
        # creates a user: REST API, config, login); \Z, as $ would accept a final newline.
        return rf"^{USERNAME_PATTERN}\Z"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.login_failures = AddressThrottle(self.failed_logins_per_address,
                                              self.address_lockout_seconds)

    def normalize_username(self, username):
        """NFKC (full-width and other compatibility forms become plain letters), lower case,
        surrounding whitespace dropped; then JupyterHub's username_map."""
        return super().normalize_username(unicodedata.normalize("NFKC", username).strip())

    def validate_username(self, username):
        return bool(re.fullmatch(USERNAME_PATTERN, username)) and super().validate_username(username)

    def address_refused(self, handler):
        """True while the handler's source address is throttled: refuse before any password is
        checked."""
        if handler is None or not self.login_failures.wait(source_address(handler.request)):
            return False
        refuse(handler, "throttled")
        self.log.warning("Login refused: too many failed logins from %s", source_address(handler.request))
        return True

    def login_failed(self, handler):
        """Count a wrong name or password against the handler's source address."""
        if handler is not None:
            self.login_failures.record(source_address(handler.request))
        refuse(handler, "wrong")


# ---- the login page ----------------------------------------------------------------------------

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
            enable_signup=self.authenticator.enable_signup,
            login_hint=getattr(self.authenticator, "login_hint", None), **kwargs)

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
