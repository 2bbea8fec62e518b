"""Serve Haven with gunicorn from inside the `haven run` process."""

from __future__ import annotations

import os
from typing import Any

from gunicorn.app.base import BaseApplication


class HavenServer(BaseApplication):
    """gunicorn with Haven's WSGI app, configured here rather than from a file or argv."""

    def __init__(self, options: dict[str, Any]):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from haven.wsgi import application

        return application


def serve(*, host: str, port: int, workers: int, name: str = "haven") -> None:
    """Run gunicorn in the foreground until Ctrl-C (SIGINT) or SIGTERM stops it gracefully."""
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    # The workers inherit this: files are never let to busy all of them at once
    # (haven.attachments.sandbox.places).
    os.environ["HAVEN_SERVER_WORKERS"] = str(workers)
    HavenServer(
        {
            "bind": [bind],
            "workers": workers,
            "proc_name": name,
            # No access log: who contacted Haven, when and from where is metadata we do not keep
            # (and a portal path or query could carry what a requester typed).
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "timeout": 60,
            "graceful_timeout": 10,
            "forwarded_allow_ips": "127.0.0.1,::1",
        }
    ).run()
