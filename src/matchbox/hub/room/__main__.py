"""Start the room view (the hub runs `python -m matchbox.hub.room ARGS`).

JupyterHub gives a managed service about ten one-second tries to answer on its URL, then stops
the whole hub. On a loaded machine importing the service (JupyterHub's auth, Docker, Jinja) can
take longer than that, so the port answers first, with a "starting" page (and 200, which is all
the hub's check asks), while the service is imported in a thread; then requests go to it.
"""

import asyncio
import importlib
import logging
import os
import sys
from urllib.parse import urlparse

from tornado import httpserver, httputil, ioloop, web


class Starting(web.RequestHandler):
    def get(self, *_):
        self.set_header("Cache-Control", "no-store")
        self.set_header("Retry-After", "2")
        self.write("The room view is starting; reload in a moment.\n")


class Current(httputil.HTTPServerConnectionDelegate):
    """Hands each request to the application of the moment."""

    def __init__(self, app):
        self.app = app

    def start_request(self, server_conn, request_conn):
        return self.app.start_request(server_conn, request_conn)

    def on_close(self, server_conn):
        self.app.on_close(server_conn)


async def load(current, argv):
    try:
        await serve(current, argv)
    except BaseException:
        logging.exception("the room view could not start")
        os._exit(1)  # the hub sees the service exit and says so in its log


async def serve(current, argv):
    service_module = await asyncio.get_running_loop().run_in_executor(
        None, importlib.import_module, "matchbox.hub.room.service")
    service = service_module.RoomService.instance()
    service.initialize(argv)
    current.app = service.web_app()
    service.log.info("room view ready at %s (reading through %s)", service.prefix, service.proxy_url)


def main(argv=None):
    logging.basicConfig(level=logging.INFO, format="[%(levelname)1.1s %(asctime)s room] %(message)s")
    address = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101"))
    current = Current(web.Application([(r".*", Starting)]))
    httpserver.HTTPServer(current, xheaders=False).listen(address.port, address.hostname)
    loop = ioloop.IOLoop.current()
    loop.add_callback(load, current, sys.argv[1:] if argv is None else argv)
    loop.start()


if __name__ == "__main__":
    main()
