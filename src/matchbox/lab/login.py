"""The participant lab's login, throttled per source address (image/jupyter_server_config.py).

jupyter_server's password login checks every attempt with argon2 on the server's event loop: a
stranger on the room's network can guess about 7 passwords a second, and a flood of wrong guesses
makes the logged-in learner wait seconds for every click. Here, after `failures_allowed` failed
logins from one address within `failure_window` seconds, that address is refused (429, the login
page says for how long) for `lockout` seconds, before any hashing. Other addresses are never
affected; a browser that is already logged in (its cookie) is never refused. The password check
itself runs in one worker thread, so even the attempts that are let through never stall the
learner's requests.

The address is the TCP peer's: X-Forwarded-For / X-Real-Ip are not trusted (ServerApp.trust_xheaders
stays off), so an attacker cannot pose as someone else. Behind Docker's userland proxy (a port
published on 127.0.0.1) every loopback client shares the bridge gateway's address; clients on the
room's network keep their own.
"""

import asyncio
import hashlib
import hmac
import math
import time
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.auth.identity import PasswordIdentityProvider
from jupyter_server.auth.login import LoginFormHandler
from tornado.ioloop import IOLoop
from traitlets import Float, Integer, default

# At most this many addresses are remembered: an attacker with many addresses cannot grow memory.
MAX_SOURCES = 10_000


class LoginThrottle:
    """Failed-login bookkeeping per source address (in memory: a restart forgets it)."""

    def __init__(self, failures_allowed, failure_window, lockout, clock=time.monotonic):
        self.failures_allowed, self.failure_window, self.lockout = failures_allowed, failure_window, lockout
        self.clock = clock
        self.failures = OrderedDict()  # address -> deque of failure times
        self.locked_until = {}  # address -> clock time its lockout ends
        self.wrong_tokens = {}  # address -> digests of the wrong tokens it sent (each counted once)

    def refused_for(self, source):
        """Seconds this address must still wait (0: it may try)."""
        remaining = self.locked_until.get(source, 0) - self.clock()
        if remaining > 0:
            return remaining
        self.locked_until.pop(source, None)
        return 0

    def failed(self, source):
        """Record one failed login (or one attempt still being checked) from this address.

        At the limit the address is locked out; returns the lockout in seconds, or 0.
        """
        now = self.clock()
        times = self.failures.pop(source, deque())
        times.append(now)
        while times and times[0] <= now - self.failure_window:
            times.popleft()
        self.failures[source] = times
        while len(self.failures) > MAX_SOURCES:
            oldest, _ = self.failures.popitem(last=False)
            self.wrong_tokens.pop(oldest, None)
        if len(times) >= self.failures_allowed:
            self.locked_until[source] = now + self.lockout
            times.clear()
            self.wrong_tokens.pop(source, None)
            return self.lockout
        return 0

    def failed_token(self, source, token):
        """Record a wrong token; the same wrong token again (a stale tab polling) counts once."""
        digest = hashlib.sha256(token.encode(errors="replace")).digest()
        seen = self.wrong_tokens.setdefault(source, set())
        if digest in seen:
            return 0
        seen.add(digest)
        return self.failed(source)

    def succeeded(self, source):
        """Forget this address's failures (a learner who mistyped, then got it right)."""
        self.locked_until.pop(source, None)
        self.failures.pop(source, None)
        self.wrong_tokens.pop(source, None)


class ThrottledLoginHandler(LoginFormHandler):
    """The login form, refusing a locked-out address before the password is hashed."""

    @allow_unauthenticated
    async def post(self):
        """Check the password (unless this address is locked out); log in or say why not."""
        provider = self.identity_provider
        if not isinstance(provider, ThrottledPasswordIdentityProvider) or not provider.auth_enabled:
            return super().post()
        source = self.request.remote_ip
        wait = provider.throttle.refused_for(source)
        if wait:
            return await self._refuse(source, wait)
        # The attempt counts as a failure before it is checked, so that parallel attempts from
        # one address cannot all pass the limit while the first ones are still being hashed.
        lockout = provider.throttle.failed(source)
        if lockout:
            self.log.warning("Login: %s locked out for %d s after %d failed logins",
                             source, lockout, provider.failures_allowed)
        typed = self.get_argument("password", default="")
        user = await provider.check_login(self, typed)
        if user is None:
            if lockout:
                return await self._refuse(source, lockout)
            self.set_status(401)
            self._render(message={"error": "Invalid credentials"})
            return
        provider.throttle.succeeded(source)
        self.current_user = user
        self.log.info(f"User {user.username} logged in.")
        provider.set_login_cookie(self, user)
        self._redirect_safe(self.get_argument("next", default=self.base_url))

    async def _refuse(self, source, wait):
        """429 with the login page, saying how long to wait; slowly, so a flood gets few answers."""
        await asyncio.sleep(self.identity_provider.refusal_delay)
        seconds = math.ceil(wait)
        self.set_status(429)
        self.set_header("Retry-After", str(seconds))
        self._render(message={"error": f"Too many failed logins from {source}. "
                                       f"Wait {seconds} s, then log in with the workshop password."})


class ThrottledPasswordIdentityProvider(PasswordIdentityProvider):
    """PasswordIdentityProvider with a per-address login throttle (ThrottledLoginHandler)."""

    failures_allowed = Integer(
        5, min=1, config=True,
        help="Failed logins (password form or token) from one address within failure_window "
             "seconds that lock that address out for lockout seconds.",
    )
    failure_window = Float(
        300.0, min=1.0, config=True,
        help="Seconds over which an address's failed logins are counted.",
    )
    lockout = Float(
        300.0, min=1.0, config=True,
        help="Seconds a locked-out address is refused (429) before its password is even checked.",
    )

    refusal_delay = Float(
        1.0, min=0.0, config=True,
        help="Seconds a refused login waits before its 429: a script that retries at once gets "
             "about one answer a second per connection instead of hundreds.",
    )

    @default("login_handler_class")
    def _default_login_handler_class(self):
        return ThrottledLoginHandler

    @property
    def throttle(self):
        """The one LoginThrottle of this server (made on first use, from the settings above)."""
        if not hasattr(self, "_throttle"):
            self._throttle = LoginThrottle(self.failures_allowed, self.failure_window, self.lockout)
            # One thread: hashing never blocks the event loop, and at most one hash runs at a time.
            self._hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="login-check")
        return self._throttle

    async def check_login(self, handler, typed):
        """The user for a typed password (or the token typed into the form), else None.

        Changing the password from the login page is not offered (allow_password_change is off).
        """
        self.throttle  # noqa: B018  (makes the hashing thread)
        if self.hashed_password and typed:
            matches = await IOLoop.current().run_in_executor(self._hasher, self.passwd_check, typed)
            if matches:
                return self.generate_anonymous_user(handler)
        if self.token and typed and hmac.compare_digest(self.token.encode(), typed.encode()):
            return self.generate_anonymous_user(handler)
        return None

    async def get_user_token(self, handler):
        """Token in the URL or Authorization header: refused from a locked-out address, wrong ones counted."""
        if not self.token:
            return None
        presented = self.get_token(handler)
        if not presented:
            return None
        source = handler.request.remote_ip
        if self.throttle.refused_for(source):
            return None
        user = await super().get_user_token(handler)
        if user is None and self.throttle.failed_token(source, presented):
            self.log.warning("Token: %s locked out for %d s after %d wrong tokens",
                             source, self.lockout, self.failures_allowed)
        return user
