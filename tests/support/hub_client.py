"""The one client of the matchbox hub (REST, forms, kernel websockets) that the tests and
benchmarks use, and a room of participants built on it: sign up, approval by the instructor,
login, spawn, a cell that loads MNIST, fetch and submit an assignment from the exchange; then the
instructor collects and grades the submissions in their own server. Every step is asserted and
timed. tests/test_hub.py runs a room; `python -m benchmarks.room` runs one against any hub.
"""

import html
import json
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests
import websocket


class HubError(AssertionError):
    pass


class HubClient:
    """One person's view of the hub: a requests session (cookies, xsrf) and, after login, a token."""

    def __init__(self, url, name=None, password=None):
        self.url, self.name, self.password = url.rstrip("/"), name, password
        self.session = requests.Session()
        self.token = None
        self.reconnects = 0  # kernel websockets replaced because the kernel never answered

    # ---- accounts ------------------------------------------------------------------------------
    def _xsrf(self, path):
        self.session.get(self.url + path, timeout=30)
        return self.session.cookies.get("_xsrf", path="/hub/") or self.session.cookies.get("_xsrf")

    def signup(self):
        """NativeAuthenticator's sign-up form; returns the page's message."""
        xsrf = self._xsrf("/hub/signup")
        r = self.session.post(self.url + "/hub/signup", timeout=30, data={
            "_xsrf": xsrf, "username": self.name, "signup_password": self.password,
            "signup_password_confirmation": self.password})
        if r.status_code != 200:
            raise HubError(f"sign-up of {self.name}: {r.status_code}")
        return r.text

    def login(self):
        """Log in: the login form (as a browser; this is what creates the hub's user record on the
        first login), then an API token (request_token). Returns the token request's response:
        201, or 403 when either step was refused."""
        self.browser_login()
        return self.request_token()

    def request_token(self):
        """Ask the REST API for a token with username and password in the body (no form login);
        returns the response (201 with the token, kept as self.token; 403 when refused)."""
        r = requests.post(f"{self.url}/hub/api/users/{self.name}/tokens", timeout=60,
                          json={"auth": {"username": self.name, "password": self.password},
                                "expires_in": 4 * 3600, "note": "matchbox tests"})
        if r.status_code == 201:
            self.token = r.json()["token"]
        return r

    def browser_login(self):
        """Log in through the login form, as a browser does: the session gets the hub's cookie."""
        xsrf = self._xsrf("/hub/login")
        r = self.session.post(self.url + "/hub/login", timeout=60, allow_redirects=False, data={
            "_xsrf": xsrf, "username": self.name, "password": self.password})
        return r.status_code == 302 and "/login" not in r.headers.get("location", "")

    def signups(self):
        """The authorization page as the admin sees it (needs browser_login):
        {username: (row id, approved)} and the page's _xsrf token."""
        page = self.session.get(self.url + "/hub/authorize", timeout=60)
        if page.status_code != 200:
            raise HubError(f"authorization area: {page.status_code}")
        rows = re.findall(r'<tr data-user-id="(\d+)" data-username="([^"]*)"\s+data-approved="(\w+)"',
                          page.text)
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
        return ({html.unescape(name): (int(row), approved == "yes") for row, name, approved in rows},
                html.unescape(xsrf.group(1)) if xsrf else None)

    def authorize(self, name, action):
        """Press Authorize, Unauthorize or Discard for a sign-up: a POST form with the _xsrf
        token and the sign-up's row id in the body. Returns the response (302 when done)."""
        rows, xsrf = self.signups()
        if name not in rows:
            raise HubError(f"{name} is not in the authorization area")
        return self.session.post(self.url + "/hub/authorize", timeout=60, allow_redirects=False,
                                 data={"_xsrf": xsrf, "user_id": rows[name][0], "action": action})

    def approve(self, name):
        """The admin presses "Authorize" for a sign-up on /hub/authorize (needs browser_login)."""
        rows, _ = self.signups()
        if name in rows and not rows[name][1]:
            r = self.authorize(name, "authorize")
            if r.status_code != 302:
                raise HubError(f"approving {name}: {r.status_code} {r.text[:300]}")
        rows, _ = self.signups()
        if not rows.get(name, (None, False))[1]:
            raise HubError(f"{name} was not approved")

    # ---- REST ----------------------------------------------------------------------------------
    @property
    def headers(self):
        return {"Authorization": f"token {self.token}"}

    def hub_get(self, path, **kwargs):
        return requests.get(self.url + path, headers=self.headers, timeout=60, **kwargs)

    def api(self, method, path, **kwargs):
        return requests.request(method, f"{self.url}/hub/api{path}", headers=self.headers,
                                timeout=60, **kwargs)

    def server(self, method, path, user=None, timeout=60, **kwargs):
        """A request to a single-user server through the proxy (user: someone else's, for 403s)."""
        return requests.request(method, f"{self.url}/user/{user or self.name}{path}",
                                headers=self.headers, timeout=timeout, **kwargs)

    def spawn(self, limit=300):
        """Ask for my server and wait until the hub says it is ready; returns the seconds."""
        started = time.monotonic()
        r = self.api("POST", f"/users/{self.name}/server")
        if r.status_code not in (201, 202, 400):  # 400: already running
            raise HubError(f"spawn of {self.name}: {r.status_code} {r.text}")
        while time.monotonic() - started < limit:
            model = self.api("GET", f"/users/{self.name}").json()
            server = model.get("servers", {}).get("", {})
            if server.get("ready"):
                return time.monotonic() - started
            if not model.get("pending") and not server:
                raise HubError(f"spawn of {self.name} failed: {model}")
            time.sleep(0.5)
        raise HubError(f"{self.name}'s server not ready after {limit} s")

    def stop(self, limit=120):
        r = self.api("DELETE", f"/users/{self.name}/server")
        if r.status_code not in (202, 204):
            raise HubError(f"stop of {self.name}: {r.status_code} {r.text}")
        started = time.monotonic()
        while time.monotonic() - started < limit:
            if not self.api("GET", f"/users/{self.name}").json().get("servers"):
                return
            time.sleep(0.5)
        raise HubError(f"{self.name}'s server did not stop")

    def assignment(self, action, assignment, course="matchbox"):
        """The assignment list's buttons (nbgrader's server extension): fetch, submit, ...; its JSON."""
        r = self.server("POST", f"/assignments/{action}", timeout=300,
                        data={"course_id": course, "assignment_id": assignment})
        if r.status_code != 200:
            raise HubError(f"{self.name}: {action} {assignment}: {r.status_code} {r.text[:500]}")
        return r.json()

    # ---- kernels -------------------------------------------------------------------------------
    def execute(self, code, kernel_id=None, limit=180):
        """Run code in a kernel over the websocket; returns (reply status, stdout, error text).

        reply status "dead" means the kernel died (or restarted) before replying."""
        if kernel_id is None:
            r = self.server("POST", "/api/kernels", json={"name": "python3"})
            if r.status_code != 201:
                raise HubError(f"kernel for {self.name}: {r.status_code} {r.text}")
            kernel_id = r.json()["id"]
        url = self.url.replace("http", "ws", 1) + f"/user/{self.name}/api/kernels/{kernel_id}/channels"
        deadline = time.monotonic() + limit
        kernel = KernelSocket.answering(url, self.token, self.name, deadline)
        self.reconnects += kernel.reconnects
        try:
            return kernel.run(code, deadline)
        except (websocket.WebSocketConnectionClosedException, ConnectionError):
            return "dead", "".join(kernel.stdout), kernel.error
        finally:
            kernel.close()


class KernelSocket:
    """One websocket to a kernel (Jupyter's JSON messages): requests out, messages in."""

    def __init__(self, url, token, username):
        self.username, self.session = username, uuid.uuid4().hex
        self.ws = websocket.create_connection(url, header=[f"Authorization: token {token}"], timeout=60)
        self.ws.settimeout(1)
        self.stdout, self.error, self.reconnects = [], "", 0

    @classmethod
    def answering(cls, url, token, username, deadline):
        """A connection whose kernel answered kernel_info (requests sent before are lost). A
        connection that sees no reply in 15 s is replaced (belt and braces; not seen so far)."""
        reconnects = 0
        while time.monotonic() < deadline:
            kernel = cls(url, token, username)
            kernel.request("kernel_info_request", {})
            for msg in kernel.messages(min(deadline, time.monotonic() + 15)):
                if msg is None:
                    kernel.request("kernel_info_request", {})
                elif msg.get("msg_type") == "kernel_info_reply":
                    kernel.reconnects = reconnects
                    return kernel
            reconnects += 1
            kernel.close()
        raise HubError(f"{username}'s kernel never answered kernel_info")

    def request(self, kind, content, channel="shell"):
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": kind, "username": self.username,
                       "session": self.session, "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": channel, "buffers": [],
            "content": content}))
        return msg_id

    def messages(self, deadline):
        """Messages until the deadline; None once a second passes without one."""
        while time.monotonic() < deadline:
            try:
                yield json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                yield None

    def run(self, code, deadline):
        """Execute code; (reply status, stdout, error text) once both the reply and idle came."""
        msg_id = self.request("execute_request", {
            "code": code, "silent": False, "store_history": False, "user_expressions": {},
            "allow_stdin": False, "stop_on_error": True})
        status, idle = None, False
        for msg in self.messages(deadline):
            if msg is None:
                continue
            kind, content = msg.get("msg_type"), msg.get("content", {})
            if kind == "status" and content.get("execution_state") in ("restarting", "dead"):
                return "dead", "".join(self.stdout), self.error
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            status = content.get("status") if kind == "execute_reply" else status
            idle = idle or (kind == "status" and content.get("execution_state") == "idle")
            self.collect(kind, content)
            # Shell (execute_reply) and iopub (idle) are separate channels: either comes first.
            if status and idle:
                return status, "".join(self.stdout), self.error
        raise HubError(f"no reply from {self.username}'s kernel in time")

    def collect(self, kind, content):
        if kind == "stream":
            self.stdout.append(content.get("text", ""))
        elif kind == "error":
            self.error = f"{content.get('ename')}: {content.get('evalue')}"

    def close(self):
        self.ws.close()

def shell(client, command, limit=600):
    """Run a command in the client's own server (through a kernel); returns (exit status, output)."""
    code = ("import json, subprocess\n"
            f"done = subprocess.run({command!r}, shell=True, capture_output=True, text=True)\n"
            "print(json.dumps([done.returncode, done.stdout + done.stderr]))")
    status, out, error = client.execute(code, limit=limit)
    if status != "ok":
        raise HubError(f"{client.name}: {command}: kernel {status} {error}")
    return tuple(json.loads(out.strip().splitlines()[-1]))


MNIST_CELL = ("from matchbox import load_mnist\n"
              "(x, t), (x_test, t_test) = load_mnist()\n"
              "print(x.shape[0], x_test.shape[0])")


def participant(url, admin, name, password, log=print, assignment=None, answers=None):
    """One participant's morning: sign up, wait for approval, log in, spawn, load MNIST; then fetch
    the assignment from the exchange, (answers: notebook JSON by file name, saved first) submit it."""
    timings = {}
    me = HubClient(url, name, password)
    t = time.monotonic()
    me.signup()
    if me.login().status_code != 403:
        raise HubError(f"{name} could log in before approval")
    admin.approve(name)
    r = me.login()
    if r.status_code != 201:
        raise HubError(f"{name} cannot log in after approval: {r.status_code} {r.text}")
    timings["account"] = time.monotonic() - t
    timings["spawn"] = me.spawn()
    t = time.monotonic()
    status, out, error = me.execute(MNIST_CELL)
    if status != "ok" or out.split() != ["60000", "10000"]:
        raise HubError(f"{name}'s MNIST cell: {status} {out!r} {error}")
    timings["mnist"] = time.monotonic() - t
    if assignment:
        t = time.monotonic()
        fetched = me.assignment("fetch", assignment)
        if not fetched.get("success"):
            raise HubError(f"{name}: fetch {assignment}: {fetched}")
        for file_name, notebook in (answers or {}).items():
            r = me.server("PUT", f"/api/contents/{assignment}/{file_name}",
                          json={"type": "notebook", "content": notebook})
            if r.status_code != 200:
                raise HubError(f"{name}: saving {file_name}: {r.status_code} {r.text[:300]}")
        submitted = me.assignment("submit", assignment)
        if not submitted.get("success"):
            raise HubError(f"{name}: submit {assignment}: {submitted}")
        timings["fetch+submit"] = time.monotonic() - t
    log(f"{name}: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
        + f", websocket reconnects {me.reconnects}")
    return me, timings


def release(admin, assignment):
    """The instructor's server releases the assignment to the exchange (nbgrader)."""
    admin.spawn()
    status, out = shell(admin, f"nbgrader release_assignment {assignment} --force")
    if status != 0:
        raise HubError(f"release_assignment {assignment}: {out[-2000:]}")


def collect_and_grade(admin, assignment, jobs=2):
    """The instructor's server: `grade --from-exchange`; returns ({student: score}, its output)."""
    status, out = shell(admin, f"grade {assignment} --from-exchange -j {jobs}", limit=1800)
    if status != 0:
        raise HubError(f"grade {assignment} --from-exchange: exit {status}\n{out[-3000:]}")
    status, table = shell(admin, "cat grades.csv")
    rows = [line.split(",") for line in table.strip().splitlines()]
    header = rows[0]
    scores = {row[header.index("student_id")]: float(row[header.index("score")])
              for row in rows[1:] if row[header.index("assignment")] == assignment}
    return scores, out


def run_room(url, admin_name, admin_password, n, prefix="p", log=print, assignment=None,
             answers=None):
    """N participants at once; returns the admin's client and the participants' clients and
    timings (raises on the first failure). With an assignment, the instructor releases it first
    and each participant fetches and submits it (answers(i): the i-th participant's notebooks)."""
    admin = HubClient(url, admin_name, admin_password)
    r = admin.login()
    if r.status_code != 201:
        raise HubError(f"admin login: {r.status_code} {r.text}")
    if assignment:
        release(admin, assignment)
    names = [f"{prefix}{i:02d}" for i in range(n)]
    with ThreadPoolExecutor(n) as pool:
        futures = [pool.submit(participant, url, admin, name, f"pw-{uuid.uuid4().hex}", log,
                               assignment, answers(i) if answers else None)
                   for i, name in enumerate(names)]
        results = [f.result() for f in futures]
    return admin, results



def fetched_feedback(client, assignment):
    """The assignment list's "Fetch Feedback" (nbgrader's fetch_feedback, in the client's own
    server), then the feedback in their ASSIGNMENT/feedback/TIMESTAMP/: {path: HTML}, {} if none."""
    client.assignment("fetch_feedback", assignment)
    found, folders = {}, [f"{assignment}/feedback"]
    while folders:
        r = client.server("GET", f"/api/contents/{folders.pop()}")
        if r.status_code == 404:
            continue
        if r.status_code != 200:
            raise HubError(f"{client.name}: listing feedback: {r.status_code} {r.text[:300]}")
        for item in r.json()["content"]:
            if item["type"] == "directory":
                folders.append(item["path"])
            elif item["name"].endswith(".html"):
                page = client.server("GET", f"/api/contents/{item['path']}", params={"format": "text"})
                found[item["path"]] = page.json()["content"]
    return found
