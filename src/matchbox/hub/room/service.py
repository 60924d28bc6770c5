"""The room view: a JupyterHub service at /services/room/ that shows the instructor, live, which
participant is where in the current assignments and who is stuck (docs/room.md, "The room view").

It reads, never runs: each participant's saved notebooks through the Jupyter contents API of
their server (through the hub's proxy, with this service's own token, scope access:servers),
the hub's REST API for accounts, servers and last activity, and Docker for each server's memory
in use. Only admins and the members of MATCHBOX_HUB_ROOM_GROUP may open it: the hub's OAuth
grants the scope access:services!service=room to them only (hub/jupyterhub_config.py); anyone
else gets 403.

    /services/room/                           the grid (static/room.js polls the API)
    /services/room/api/progress               the same data as JSON (snapshot.Participant)
    /services/room/participant/NAME/PATH      NAME's notebook PATH, read-only (render.py)
"""

import asyncio
import datetime
import json
import os
import re
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import docker
from dockerspawner import DockerSpawner
from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated
from tornado import httpclient, web
from traitlets import Float, Integer, List, Unicode
from traitlets.config import Application

from matchbox.hub.room import progress, render
from matchbox.hub.room.snapshot import Participant, Room, parse_time

HERE = os.path.dirname(os.path.abspath(__file__))
ASSIGNMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


class RoomReader:
    """Reads the room: the hub's users, their saved notebooks, their containers' memory. Notebooks
    are fetched again only when their last_modified changed."""

    def __init__(self, service):
        self.service = service
        self.http = httpclient.AsyncHTTPClient()
        self.docker = docker.APIClient(version="auto")
        self.pool = ThreadPoolExecutor(8)
        self.notebooks = {}  # (name, path) -> (last_modified, {exercise: state}, language)
        self.memories = {}  # container -> (monotonic time read, bytes or None)
        self.last_seen = {}  # name -> read_participant's (states, notebooks, language), last read
        self.room = Room(idle_seconds=service.idle_seconds)
        self.snapshot, self.read_at = None, 0.0
        self.lock = asyncio.Lock()

    @property
    def headers(self):
        return {"Authorization": f"token {self.service.api_token}"}

    async def get_json(self, url):
        response = await self.http.fetch(url, headers=self.headers, request_timeout=20)
        return json.loads(response.body)

    # ---- what the room is working on ----
    def released(self):
        """Assignments released to the exchange (outbound/NAME folders), sorted."""
        try:
            return sorted(name for name in os.listdir(self.service.outbound)
                          if ASSIGNMENT_NAME.match(name) and os.path.isdir(os.path.join(self.service.outbound, name)))
        except OSError:
            return []

    async def assignments_of(self, server_url):
        """The current assignments: configured, else released, else the participant's own
        assignment-like folders (NN-name, as the workshop seeds them)."""
        chosen = [name.strip() for name in self.service.assignments.split(",") if name.strip()]
        chosen = chosen or self.released()
        if chosen:
            return chosen
        root = await self.get_json(f"{server_url}api/contents/?content=1")
        return sorted(item["name"] for item in root.get("content") or ()
                      if item.get("type") == "directory" and re.match(r"^\d\d-", item["name"]))

    # ---- one participant ----
    async def read_notebook(self, name, server_url, path, modified):
        cached = self.notebooks.get((name, path))
        if cached and cached[0] == modified:
            return cached
        model = await self.get_json(f"{server_url}api/contents/{quote(path)}?content=1&type=notebook")
        notebook = model.get("content") or {}
        entry = (modified, progress.exercises(notebook), progress.language(notebook))
        self.notebooks[(name, path)] = entry
        return entry

    async def listing(self, server_url, assignment):
        """The assignment folder's entries, or None when the participant has no such folder."""
        try:
            return await self.get_json(f"{server_url}api/contents/{quote(assignment)}?content=1")
        except httpclient.HTTPClientError as problem:
            if problem.code == 404:  # not fetched (or not seeded) yet
                return None
            raise

    async def read_participant(self, name, server_url):
        """({assignment: {exercise: state}}, {assignment: {exercise: notebook path}}, language)."""
        states, notebooks, language = {}, {}, None
        assignments = await self.assignments_of(server_url)
        # the folders listed at once: a refresh of an unchanged room is these listings only
        folders = await asyncio.gather(*(self.listing(server_url, a) for a in assignments))
        for assignment, folder in zip(assignments, folders):
            if folder is None:
                continue
            found, where = states.setdefault(assignment, {}), notebooks.setdefault(assignment, {})
            for item in sorted(folder.get("content") or (), key=lambda item: item["name"]):
                if item.get("type") != "notebook":
                    continue
                _, read, language = await self.read_notebook(name, server_url, item["path"],
                                                             item.get("last_modified"))
                for exercise, state in read.items():
                    found.setdefault(exercise, state)
                    where.setdefault(exercise, item["path"])
        return states, notebooks, language

    def memory(self, container):
        """Memory in use by a container, as `docker stats` counts it (page cache left out); read
        again at most every memory_seconds (Docker's stats call is the slowest part of a read)."""
        read_at, value = self.memories.get(container, (None, None))
        if read_at is not None and time.monotonic() - read_at < self.service.memory_seconds:
            return value
        value = self._memory(container)
        self.memories[container] = (time.monotonic(), value)
        return value

    def _memory(self, container):
        try:
            stats = self.docker.stats(container, stream=False, one_shot=True)
        except (docker.errors.DockerException, OSError) as problem:
            self.service.log.warning("no memory figure for %s: %s", container, problem)
            return None
        memory = stats.get("memory_stats") or {}
        usage = memory.get("usage")
        if usage is None:
            return None
        detail = memory.get("stats") or {}
        return usage - detail.get("inactive_file", detail.get("total_inactive_file", 0))

    async def participant(self, user, loop):
        server = (user.get("servers") or {}).get("")
        state = "running" if server and server.get("ready") else "starting" if server else "stopped"
        person = Participant(user["name"], parse_time(user.get("last_activity")), state)
        if state == "running":
            server_url = self.service.proxy_url + server["url"]
            # the container's name as DockerSpawner makes it: PREFIX-NAME, the name escaped
            container = f"{self.service.container_prefix}-{DockerSpawner._escape(user['name'])}"
            memory = loop.run_in_executor(self.pool, self.memory, container)
            try:
                self.last_seen[user["name"]] = await self.read_participant(user["name"], server_url)
            except (httpclient.HTTPClientError, OSError, ValueError) as problem:
                self.service.log.warning("cannot read %s's notebooks: %s", user["name"], problem)
            person.memory = await memory
        # a stopped server (or one that could not be read) shows what was read last
        person.assignments, person.notebooks, person.language = self.last_seen.get(user["name"], ({}, {}, None))
        return person

    # ---- the room ----
    async def read(self):
        started = time.monotonic()
        users = await self.get_json(f"{self.service.api_url}/users")
        participants = [u for u in users if not u.get("admin")
                        and not set(u.get("groups") or ()) & set(self.service.hidden_groups)]
        loop = asyncio.get_running_loop()
        limit = asyncio.Semaphore(self.service.concurrent_reads)

        async def one(user):
            async with limit:
                return await self.participant(user, loop)

        people = await asyncio.gather(*(one(u) for u in participants))
        now = datetime.datetime.now(datetime.timezone.utc)
        ordered = self.room.order(list(people), now)
        columns = {}
        for person in ordered:
            for assignment, found in person.assignments.items():
                known = columns.setdefault(assignment, [])
                known.extend(e for e in found if e not in known)
        return {
            "participants": [p.as_json() for p in ordered],
            "assignments": dict(sorted(columns.items())),
            "updated": now.isoformat().replace("+00:00", "Z"),
            "read_seconds": round(time.monotonic() - started, 3),
            "refresh_seconds": self.service.refresh_seconds,
        }

    async def latest(self):
        """The snapshot, read again when older than refresh_seconds (one read at a time)."""
        async with self.lock:
            if self.snapshot is None or time.monotonic() - self.read_at >= self.service.refresh_seconds:
                self.snapshot = await self.read()
                self.read_at = time.monotonic()
            return self.snapshot

    async def notebook(self, name, path):
        """NAME's notebook at PATH, read now (None: no such participant or server)."""
        user = await self.get_json(f"{self.service.api_url}/users/{quote(name)}")
        server = (user.get("servers") or {}).get("")
        if user.get("admin") or not server or not server.get("ready"):
            return None
        model = await self.get_json(f"{self.service.proxy_url}{server['url']}api/contents/{quote(path)}"
                                    "?content=1&type=notebook")
        return model.get("content") or {}


# ---- web ----------------------------------------------------------------------------------------

class Handler(HubOAuthenticated, web.RequestHandler):
    """Signed in through the hub, and holding the scope access:services!service=room."""

    def initialize(self, service):
        self.service = service

    def set_default_headers(self):
        self.set_header("Content-Security-Policy", CSP)
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "same-origin")


class RoomPage(Handler):
    @web.authenticated
    def get(self):
        self.write(render.ENVIRONMENT.get_template("room.html").render(
            prefix=self.service.prefix, refresh=self.service.refresh_seconds,
            xsrf=token.decode("ascii") if isinstance(token := self.xsrf_token, bytes) else token,
            user=self.current_user["name"], hub_prefix=self.service.hub_prefix))


class ProgressAPI(Handler):
    @web.authenticated
    async def get(self):
        self.set_header("Content-Type", "application/json")
        self.write(json.dumps(await self.service.reader.latest()))


class NotebookPage(Handler):
    @web.authenticated
    async def get(self, name, path):
        if ".." in path.split("/") or not path.endswith(".ipynb"):
            raise web.HTTPError(404, "not a notebook")
        try:
            notebook = await self.service.reader.notebook(name, path)
        except httpclient.HTTPClientError as problem:
            raise web.HTTPError(404 if problem.code in (403, 404) else 502, "cannot read it") from None
        if notebook is None:
            raise web.HTTPError(404, f"{name} has no running server (or is not a participant)")
        assignment = path.split("/", 1)[0]
        self.write(render.page(name, assignment, path, notebook, self.service.prefix))


class RoomService(Application):
    """The room view service (started by the hub: hub/jupyterhub_config.py)."""

    name = "matchbox-room"
    description = __doc__.split("\n\n")[0]

    proxy_url = Unicode("http://127.0.0.1:8000", help="the hub's proxy, through which the "
                        "participants' servers are read (the service runs in the hub's container)"
                        ).tag(config=True)
    container_prefix = Unicode("matchbox-hub", help="participants' containers are PREFIX-NAME "
                               "(DockerSpawner's prefix): their memory in use").tag(config=True)
    outbound = Unicode("/srv/nbgrader/exchange/matchbox/outbound", help="the exchange's released "
                       "assignments: the current ones when `assignments` is empty").tag(config=True)
    assignments = Unicode("", help="the assignments shown, comma-separated; empty: those released "
                          "to the exchange, or else each participant's NN-name folders").tag(config=True)
    refresh_seconds = Float(3.0, min=0.5, help="a read of the room is reused this long; the page "
                            "asks again as often").tag(config=True)
    idle_seconds = Integer(600, min=1, help="no activity this long while others are active puts "
                           "a participant among the stuck").tag(config=True)
    memory_seconds = Float(15.0, min=0.0, help="a participant's memory figure is read again "
                           "after this many seconds").tag(config=True)
    concurrent_reads = Integer(10, min=1, help="participants read at once").tag(config=True)
    hidden_groups = List(Unicode(), help="groups whose members are never shown (the room group: "
                         "assistants, not participants)").tag(config=True)

    aliases = {
        "proxy-url": "RoomService.proxy_url",
        "container-prefix": "RoomService.container_prefix",
        "outbound": "RoomService.outbound",
        "assignments": "RoomService.assignments",
        "refresh-seconds": "RoomService.refresh_seconds",
        "idle-seconds": "RoomService.idle_seconds",
        "log-level": "Application.log_level",
    }

    def initialize(self, argv=None):
        super().initialize(argv)
        # the one HubOAuth of this process: the handlers and the OAuth callback use it too
        self.hub_auth = HubOAuth.instance(cache_max_age=60)
        self.api_url = self.hub_auth.api_url
        self.api_token = self.hub_auth.api_token
        self.prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/room/")
        self.hub_prefix = os.environ.get("JUPYTERHUB_BASE_URL", "/") + "hub/"
        self.reader = RoomReader(self)

    def web_app(self):
        """The service's tornado application (its routes under the service prefix)."""
        p = self.prefix
        return web.Application([
            (p, RoomPage, {"service": self}),
            (p + "api/progress", ProgressAPI, {"service": self}),
            (p + r"participant/([a-z0-9][a-z0-9_-]{0,31})/(.+)", NotebookPage, {"service": self}),
            (p + "oauth_callback", HubOAuthCallbackHandler),
            (p + "static/(.*)", web.StaticFileHandler, {"path": os.path.join(HERE, "static")}),
        ], cookie_secret=secrets.token_bytes(32), login_url=self.hub_auth.login_url, xsrf_cookies=False)


def main(argv=None):
    """python -m matchbox.hub.room: see __main__.py (it answers at once, then loads this)."""
    from matchbox.hub.room.__main__ import main as start
    start(argv)
