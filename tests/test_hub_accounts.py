"""The hub's accounts against a hostile room (issue 10): strict usernames, the approval page
rendered inert and changed only by POST, a Content-Security-Policy without inline script, and
throttles per source address that never lock anyone else out. The session's hub (tests/support/hubs.py).

Attacks that must come from another address than this test host run in a short-lived container
on the hub's Docker network (the hub image's Python), through the proxy like any participant.
Names made here start with `acct-` (the hub is shared with the other hub test modules).
"""

import json
import re
import secrets

import pytest
import requests
from playwright.sync_api import expect

from tests.support.containers import docker
from tests.support.hubs import ADMIN, HUB_TAG, admin_client

RULE = "A username is 1 to 32 characters"
# Names NativeAuthenticator used to accept, each an attack on a page, a URL or a parser.
CRAFTED = [
    'x"\tautofocus\tonfocus="alert(1)',      # attribute injection (tabs: a quoted attribute)
    "x\nautofocus\nonfocus=alert(2)\n",      # attribute injection (newlines: unquoted)
    "x' onmouseover='alert(3)",
    "<script>alert(4)</script>",
    "<img src=x onerror=alert(5)>",
    "instructor?",                           # /hub/authorize/instructor? toggled the instructor
    "instructor#",
    "../instructor",
    "acct-a+b",                              # '+' splits nbgrader's submission names
    "acct-" + "x" * 245,                     # too long for container and volume names
    "acct-émile",                            # not ASCII once composed (NFKC)
    "acct-e\u0301mile",                      # decomposed accent
    "-acct",
    "",
]


# ---- helpers ---------------------------------------------------------------------------------

def hub_container(hub):
    return hub.compose("ps", "-q", "hub").stdout.strip()


def hub_python(hub, code, *args):
    """Run Python in the hub's container (its sqlite database is /srv/jupyterhub)."""
    result = docker("exec", hub_container(hub), "/opt/hub/bin/python", "-c", code, *args, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


DB = """
import json, sqlite3, sys
db = sqlite3.connect("/srv/jupyterhub/jupyterhub.sqlite", timeout=30)
"""


def insert_signups(hub, names):
    """Put pending sign-ups straight into NativeAuthenticator's table, as an older hub that
    accepted any name would have; returns their row ids."""
    return json.loads(hub_python(hub, DB + """
ids = []
for name in json.loads(sys.argv[1]):
    cursor = db.execute("INSERT INTO users_info (username, password, is_authorized, login_email_sent,"
                        " has_2fa, otp_secret) VALUES (?, ?, 0, 0, 0, 'AAAAAAAAAAAAAAAA')",
                        (name, b"not-a-bcrypt-hash"))
    ids.append(cursor.lastrowid)
db.commit()
print(json.dumps(ids))
""", json.dumps(names)))


def signup_rows(hub):
    """{username: approved} of every sign-up in the hub's database."""
    return {name: bool(ok) for name, ok in json.loads(hub_python(hub, DB + """
print(json.dumps(db.execute("SELECT username, is_authorized FROM users_info").fetchall()))
"""))}


def delete_signups(hub, prefix):
    hub_python(hub, DB + "db.execute(\"DELETE FROM users_info WHERE username LIKE ?\", (sys.argv[1] + '%',))\n"
               "db.commit()\n", prefix)


def from_another_address(hub, script, *args, timeout=300):
    """Run Python (requests) in a container on the hub's network: another source address than
    this test host. The script reaches the hub through its proxy at http://hub:8000."""
    result = docker("run", "--rm", "--network", hub.prefix, "--entrypoint", "/opt/hub/bin/python",
                    f"matchbox-hub:{HUB_TAG}", "-c", script, *args, check=False, timeout=timeout)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def host_address_seen_by_the_hub(hub):
    """The bridge gateway: where this test host's requests come from, as the hub sees them."""
    networks = json.loads(docker("network", "inspect", hub.prefix).stdout)
    return networks[0]["IPAM"]["Config"][0]["Gateway"]


def signup(hub, name, password, session=None):
    """POST the sign-up form; returns (status, the page's message)."""
    session = session or requests.Session()
    session.get(hub.url + "/hub/signup", timeout=30)
    r = session.post(hub.url + "/hub/signup", timeout=60, data={
        "_xsrf": session.cookies.get("_xsrf"), "username": name, "signup_password": password,
        "signup_password_confirmation": password})
    found = re.search(r'id="signup-message">(.*?)</div>', r.text, re.S)
    return r.status_code, found.group(1).strip() if found else r.text[:500]


def unescape(text):
    import html
    return html.unescape(text)


# ---- usernames -------------------------------------------------------------------------------

def test_crafted_names_are_refused_at_signup_and_by_the_rest_api(hub):
    before = signup_rows(hub)
    for name in CRAFTED:
        status, message = signup(hub, name, "a-good-password-" + secrets.token_hex(4))
        assert status == 200 and RULE in unescape(message), (name, status, message)
    status, message = signup(hub, "Ｉｎｓｔｒｕｃｔｏｒ", "a-good-password-1234")  # full-width
    assert "'instructor' is taken" in unescape(message), message
    assert signup_rows(hub) == before, "a crafted name got into the database"

    admin = hub.admin()
    assert admin.request_token().status_code == 201
    for name in ("acct-a+b", "acct-émile", "x" * 40, "bad name", "instructor?"):
        r = admin.api("POST", "/users", json={"usernames": [name]})
        assert r.status_code == 400 and "Invalid username" in r.text, (name, r.status_code, r.text)
    r = admin.api("POST", "/users", json={"usernames": ["ＡＣＣＴ－ＲＥＳＴ"]})
    assert r.status_code == 201 and r.json()[0]["name"] == "acct-rest", r.text
    admin.api("DELETE", "/users/acct-rest")


def test_look_alike_names_map_to_one_account_and_passwords_keep_their_spaces(hub):
    name, password = f"acct-ann-{secrets.token_hex(2)}", "ann-password " + secrets.token_hex(4)
    status, message = signup(hub, name, password)
    assert "was sent to the admin" in message, message
    full_width = name.upper().translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})
    for variant in (name.upper(), full_width, f"  {name}\t"):
        status, message = signup(hub, variant, "another-password-1234")
        assert f"{name!r} is taken" in unescape(message), (variant, message)
    status, message = signup(hub, f"acct-bea-{secrets.token_hex(2)}", " padded-password-1234 ")
    assert "starts or ends with a space" in message, message

    admin_client(hub).approve(name)
    # The password as typed, inner space included; the name in any of its look-alike forms.
    assert hub.client(full_width, password).browser_login()
    assert hub.client(name.upper(), password).browser_login()
    assert hub.client(name, password).request_token().status_code == 201
    assert hub.client(name, password.strip() + " ").request_token().status_code == 403


# ---- the approval page -----------------------------------------------------------------------

@pytest.mark.browser
def test_crafted_names_already_in_the_database_render_inert_and_can_be_discarded(hub, page):
    tag = f"acct-x{secrets.token_hex(2)}"
    names = [tag + name for name in CRAFTED[:8]] + [name + tag for name in CRAFTED[:5]]
    ids = insert_signups(hub, names)
    dialogs, violations = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    try:
        page.goto(hub.url + "/hub/login?next=%2Fhub%2Fauthorize")
        page.fill("input[name=username]", ADMIN)
        page.fill("input[name=password]", hub.admin_password)
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Authorization area")).to_be_visible()
        page.mouse.move(300, 300)
        page.keyboard.press("Tab")
        page.wait_for_timeout(500)
        assert not dialogs and not violations, (dialogs, violations)
        for row_id, name in zip(ids, names):
            row = page.locator(f'tr[data-user-id="{row_id}"]')
            assert row.get_attribute("data-username") == name
            assert row.locator("code.username").text_content() == name
        assert page.locator("a[href*='/authorize/'], a[href*='/discard/']").count() == 0
        for button in page.locator("#signups button").all():
            assert button.evaluate("b => b.form && b.form.method") == "post"
        rows = signup_rows(hub)
        assert not any(rows[name] for name in names), "a crafted sign-up got approved"
        admin = hub.admin()
        assert admin.request_token().status_code == 201
        admins = [u["name"] for u in admin.api("GET", "/users").json() if u["admin"]]
        assert admins == [ADMIN], admins

        for row_id in ids:  # Discard, as the instructor clicks it
            page.locator(f'tr[data-user-id="{row_id}"] button', has_text="Discard").click()
            expect(page.locator(f'tr[data-user-id="{row_id}"]')).to_have_count(0)
        assert not set(names) & set(signup_rows(hub))
        assert not dialogs and not violations, (dialogs, violations)
    finally:
        delete_signups(hub, tag)
        for name in CRAFTED[:5]:
            delete_signups(hub, name + tag)


def test_state_changing_gets_change_nothing(hub):
    admin = admin_client(hub)
    name = f"acct-get-{secrets.token_hex(2)}"
    insert_signups(hub, [name])
    try:
        for path in (f"/hub/authorize/{name}", f"/hub/discard/{name}", "/hub/authorize/instructor%3F",
                     f"/hub/authorize/{ADMIN}", f"/hub/change-password/{ADMIN}", "/hub/confirm/x"):
            r = admin.session.get(hub.url + path, timeout=30, allow_redirects=False)
            assert r.status_code in (404, 405), (path, r.status_code)
        rows, xsrf = admin.signups()
        r = admin.session.post(hub.url + "/hub/authorize", timeout=30, allow_redirects=False,
                               data={"user_id": rows[name][0], "action": "authorize"})
        assert r.status_code == 403, "a POST without the _xsrf token was accepted"
        r = admin.session.post(hub.url + "/hub/authorize", timeout=30, allow_redirects=False,
                               data={"_xsrf": xsrf, "user_id": rows[ADMIN][0], "action": "unauthorize"})
        assert r.status_code == 400 and "Admin accounts are always approved" in r.text
        assert signup_rows(hub)[name] is False and signup_rows(hub)[ADMIN] is True
        assert hub.admin().request_token().status_code == 201
        assert requests.get(hub.url + "/hub/authorize", timeout=30).status_code == 403  # not logged in
    finally:
        delete_signups(hub, name)


# ---- logins ----------------------------------------------------------------------------------

ATTACK = """
import json, random, re, sys, requests
hub, victim, mine, password, spoof = sys.argv[1:6]
def headers():
    fake = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    return {"X-Real-Ip": random.choice([fake, spoof]), "X-Forwarded-For": f"{spoof}, {fake}"}
def token(name, password):
    return requests.post(f"{hub}/hub/api/users/{name}/tokens", headers=headers(), timeout=60,
                         json={"auth": {"username": name, "password": password}}).status_code
def form(name, password):
    s, same = requests.Session(), headers()  # the same headers: the login _xsrf hashes the address
    s.get(hub + "/hub/login", headers=same, timeout=30)
    r = s.post(hub + "/hub/login", headers=same, timeout=60, allow_redirects=False,
               data={"_xsrf": s.cookies.get("_xsrf"), "username": name, "password": password})
    m = re.search(r'class="login_error[^"]*">(.*?)</p>', r.text, re.S)
    return r.status_code, m.group(1) if m else ""
wrong = [token(victim, f"guess-{i}") for i in range(6)]
print(json.dumps({"wrong": wrong, "own_token": token(mine, password), "own_form": form(mine, password)}))
"""


def test_failed_logins_throttle_only_their_source_address(hub):
    """The old per-account lockout let anyone lock the instructor out; now a guesser (another
    address, spoofing X-Real-Ip / X-Forwarded-For) is refused, even with a right password, and
    nobody else is."""
    admin = admin_client(hub)
    mallory = hub.client(f"acct-mallory-{secrets.token_hex(2)}", "mallory-password-" + secrets.token_hex(4))
    assert "was sent to the admin" in mallory.signup()
    assert mallory.login().status_code == 403, "logged in before the instructor approved"
    admin.approve(mallory.name)

    found = from_another_address(hub, ATTACK, "http://hub:8000", ADMIN, mallory.name,
                                 mallory.password, host_address_seen_by_the_hub(hub))
    assert found["wrong"] == [403] * 6, found
    assert found["own_token"] == 403, "the guessing address was not throttled (spoofed headers evaded it?)"
    status, message = found["own_form"]
    assert status == 429 and "Too many failed logins from your network address" in message, found

    # This host (the instructor's machine), whose address the attacker wrote in its headers:
    assert hub.admin().request_token().status_code == 201
    assert hub.admin().browser_login()  # the login form too
    assert mallory.login().status_code == 201, "the attacker's own account is locked, not its address"


# ---- sign-up throttles -----------------------------------------------------------------------

FLOOD = """
import json, random, re, sys, requests
hub, prefix, valid, invalid = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def signup(i, confirm):
    s, spoof = requests.Session(), {"X-Real-Ip": f"10.0.{i // 250}.{i % 250 + 1}"}
    s.get(hub + "/hub/signup", headers=spoof, timeout=30)
    password = f"flood-password-{i}-{random.random()}"
    r = s.post(hub + "/hub/signup", timeout=60, headers=spoof,
               data={"_xsrf": s.cookies.get("_xsrf"), "username": f"{prefix}{i}",
                     "signup_password": password,
                     "signup_password_confirmation": password if confirm else "typo"})
    m = re.search(r'id="signup-message">(.*?)</div>', r.text, re.S)
    return [r.status_code, m.group(1).strip() if m else r.text[:300]]
# A few real accounts, many cheap attempts (no password hashing), then real ones again.
results = [signup(i, True) for i in range(valid)]
results += [signup(i, False) for i in range(valid, valid + invalid)]
results += [signup(i, True) for i in range(valid + invalid, valid + invalid + 2)]
print(json.dumps(results))
"""
SIGNUPS_PER_ADDRESS = 100  # the defaults (hub/jupyterhub_config.py)
MAX_PENDING = 200


def test_a_signup_flood_from_one_address_is_refused(hub):
    prefix = f"acct-flood{secrets.token_hex(2)}-"
    try:
        results = from_another_address(hub, FLOOD, "http://hub:8000", prefix, "3",
                                       str(SIGNUPS_PER_ADDRESS - 3))
        assert all("was sent to the admin" in message for _, message in results[:3]), results[:3]
        assert all("The two passwords differ" in message for _, message in results[3:-2]), results[-3]
        for status, message in results[-2:]:
            assert status == 429 and "Too many sign-ups from your network address" in message, message
        assert sum(name.startswith(prefix) for name in signup_rows(hub)) == 3
        # The room (this host) still signs up.
        name = f"acct-room-{secrets.token_hex(2)}"
        assert "was sent to the admin" in signup(hub, name, "room-password-1234")[1]
    finally:
        delete_signups(hub, prefix)


def test_signups_stop_at_the_cap_of_pending_approvals(hub):
    pending = sum(not ok for ok in signup_rows(hub).values())
    prefix = f"acct-pending{secrets.token_hex(2)}-"
    try:
        insert_signups(hub, [f"{prefix}{i}" for i in range(max(0, MAX_PENDING - pending))])
        status, message = signup(hub, f"acct-late-{secrets.token_hex(2)}", "late-password-1234")
        assert status == 429 and f"{MAX_PENDING} sign-ups are already waiting" in message, message
    finally:
        delete_signups(hub, prefix)


# ---- Content-Security-Policy -----------------------------------------------------------------

def csp(response):
    policy = response.headers.get("Content-Security-Policy", "")
    return dict((part.split(" ", 1) + [""])[:2] for part in policy.split("; ") if part)


def test_every_hub_response_has_a_csp_without_inline_script(hub):
    nonces = set()
    for path in ("/hub/login", "/hub/signup", "/hub/nowhere", "/hub/api/", "/hub/authorize"):
        r = requests.get(hub.url + path, timeout=30)
        policy = csp(r)
        assert "'unsafe-inline'" not in policy.get("script-src", "'unsafe-inline'"), (path, policy)
        assert policy.get("frame-ancestors") == "'none'" and policy.get("object-src") == "'none'", policy
        nonce = re.search(r"'nonce-([^']+)'", policy["script-src"]).group(1)
        nonces.add(nonce)
        if r.headers["Content-Type"].startswith("text/html"):
            scripts = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", r.text)
            assert scripts and all(f'nonce="{nonce}"' in attrs for attrs in scripts), (path, scripts)
    assert len(nonces) == 5, "a nonce was used twice"


@pytest.mark.browser
def test_the_hub_pages_work_under_the_csp_in_chromium(hub, page):
    """Every page with JupyterHub's or our scripts, as a browser runs them: no CSP violation, and
    each page's script did its job."""
    violations = []
    page.on("console", lambda msg: violations.append(f"{page.url}: {msg.text}")
            if "Content Security Policy" in msg.text else None)
    page.goto(hub.url + "/hub/signup")
    expect(page.get_by_text(RULE)).to_be_visible()
    page.goto(hub.url + "/hub/login?next=%2Fhub%2Fhome")
    page.fill("input[name=username]", ADMIN)
    page.fill("input[name=password]", hub.admin_password)
    page.keyboard.press("Enter")
    page.wait_for_url("**/hub/home")
    assert page.evaluate("window.jhdata.user") == ADMIN  # page.html's inline script ran
    page.goto(hub.url + "/hub/token", wait_until="networkidle")  # token.js loaded (require.js)
    page.get_by_role("button", name=re.compile("request new api token", re.I)).click()
    expect(page.locator("#token-result")).not_to_be_empty()
    page.goto(hub.url + "/hub/admin")
    expect(page.get_by_text(ADMIN, exact=True).first).to_be_visible()  # the React admin page
    page.goto(hub.url + "/hub/authorize")
    expect(page.get_by_role("heading", name="Authorization area")).to_be_visible()
    page.goto(hub.url + "/hub/change-password")
    expect(page.get_by_label("Current password:")).to_be_visible()

    # A participant: login, the start page asks the language (日本語 chosen), then the
    # spawn-pending page, whose script follows the spawn's progress (an event stream) and takes
    # them into their lab, in Japanese.
    carl = hub.client(f"acct-carl-{secrets.token_hex(2)}", "carl-password-" + secrets.token_hex(4))
    carl.signup()
    admin_client(hub).approve(carl.name)
    context = page.context.browser.new_context()
    try:
        other = context.new_page()
        other.on("console", lambda msg: violations.append(f"{other.url}: {msg.text}")
                 if "Content Security Policy" in msg.text else None)
        other.goto(hub.url + "/hub/login")
        other.fill("input[name=username]", carl.name)
        other.fill("input[name=password]", carl.password)
        other.keyboard.press("Enter")
        other.wait_for_url(re.compile(r"/hub/spawn(/[^/?]+)?([?].*)?$"))  # the start page
        language = other.get_by_label(re.compile("Language of the notebooks"))
        expect(language).to_have_value("en")  # MATCHBOX_HUB_LANG's default
        language.select_option("ja")
        other.get_by_role("button", name=re.compile("start", re.I)).click()
        # JupyterHub shows the progress page only when the start takes over a second (a busy
        # machine); a quick start goes straight to the lab. Either way no CSP violation.
        other.wait_for_url(re.compile(rf"/(hub/spawn-pending|user)/{carl.name}"))
        if "/hub/spawn-pending/" in other.url:
            expect(other.locator("#progress-log .progress-log-event").first).to_be_attached()
        other.wait_for_url(f"**/user/{carl.name}/lab**", timeout=180_000)
        assert carl.login().status_code == 201
        notebook = carl.server("GET", "/api/contents/01-matchbox/01-matchbox.ipynb").json()["content"]
        assert notebook["metadata"].get("matchbox") == {"language": "ja"}, "not the Japanese edition"
        expect(other.locator("#jp-menu-panel").get_by_text("ファイル", exact=True)).to_be_visible(timeout=60_000)
    finally:
        context.close()
        assert carl.login().status_code == 201
        carl.stop()
    assert not violations, violations
