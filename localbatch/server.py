"""The Batch service process: `python -m localbatch.server --state-dir DIR` (started by `up`)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import socket
from pathlib import Path

import uvicorn

from . import image, tls
from .api.routes import build_app
from .service import Service
from .statedir import BATCH_ACCOUNT, StateDir


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--state-dir", required=True, type=Path)
    args = parser.parse_args(argv)
    state = StateDir(args.state_dir)
    logging.basicConfig(level=os.environ.get("LOCALBATCH_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    port, https = state.ports()["batch"], state.scheme() == "https"
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    svc = Service(state.path, BATCH_ACCOUNT, state.keys()["batch_key"],
                  state.endpoints()["BATCH_ACCOUNT_URL"], image.build(state.path / "image"),
                  max_nodes=int(os.environ.get("LOCALBATCH_MAX_NODES", "8")),
                  identity=state.identity() if https else None,
                  identity_header=state.keys()["identity_header"], time_scale=state.time_scale())

    @contextlib.asynccontextmanager
    async def lifespan(app):
        svc.recover()
        yield
        await svc.shutdown()

    app = build_app(svc)
    app.router.lifespan_context = lifespan
    secure = tls.server_options(tls.Files(state.path / "tls")) if https else {}
    # An idle TLS keep-alive closes only once the client answers the close (asyncio waits up
    # to 30 s): wait 1 s for the connections, then stop the nodes all the same.
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_keep_alive=30,
                            timeout_graceful_shutdown=1, **secure)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
