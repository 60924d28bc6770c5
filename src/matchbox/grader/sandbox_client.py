"""Talking to the hub's grading sandbox service (src/matchbox/hub/sandbox_service.py).

On the hub the instructor's server holds no Docker socket: each sandbox kernel is started by
the sandbox service, over HTTP on a UNIX socket. `request` is that API's client (the standard
library only: it also runs as the kernel process below, once per notebook).

    python -m matchbox.grader.sandbox_client SOCKET KERNEL_ID

is the kernel process jupyter_client starts when SandboxKernelManager.service_socket is set: it
asks the service to start the prepared container, waits for it to exit and exits with its
status (137 for a kill: the memory limit, the wall clock), and asks for its removal when it is
itself terminated. It stands where `docker run` stands when grading with a local Docker.
"""

import http.client
import json
import os
import signal
import socket
import sys
from urllib.parse import quote


class ServiceError(Exception):
    """The service refused (status, its reason code and sentence) or could not be reached."""

    def __init__(self, status, reason, message):
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("sandbox", timeout=timeout)
        self.socket_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


def request(socket_path, method, path, body=None, timeout=120):
    """One API call; its JSON answer, or ServiceError naming what went wrong."""
    connection = UnixHTTPConnection(socket_path, timeout)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        raw = response.read()
    except OSError as problem:
        raise ServiceError(None, "unreachable", f"the sandbox service at {socket_path} does not "
                                                f"answer ({problem})") from None
    finally:
        connection.close()
    try:
        data = json.loads(raw)
    except ValueError:
        data = {"error": raw.decode(errors="replace")[:300], "reason": "bad-answer"}
    if response.status >= 400:
        raise ServiceError(response.status, data.get("reason", ""), data.get("error", ""))
    return data


def kernel_path(kernel_id, action=""):
    return f"/kernels/{quote(kernel_id, safe='')}" + (f"/{action}" if action else "")


def run(socket_path, kernel_id):
    """Start the kernel's container, wait for it; its exit status."""
    def removed(signum, _frame):
        try:
            request(socket_path, "DELETE", kernel_path(kernel_id), timeout=60)
        except ServiceError:
            pass
        os._exit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, removed)
    request(socket_path, "POST", kernel_path(kernel_id, "start"))
    ended = request(socket_path, "POST", kernel_path(kernel_id, "wait"), timeout=None)
    return ended["exit_code"]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        sys.exit("usage: python -m matchbox.grader.sandbox_client SOCKET KERNEL_ID")
    try:
        return run(*argv)
    except ServiceError as problem:
        print(f"sandbox kernel {argv[1]}: {problem.message}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
