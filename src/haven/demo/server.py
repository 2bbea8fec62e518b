"""Serve Haven with gunicorn from inside the `haven run` process."""

from __future__ import annotations

import os
from typing import Any

from gunicorn import glogging
from gunicorn.app.base import BaseApplication

from haven.logs import gunicorn_message


class HavenGunicornLogger(glogging.Logger):
    """gunicorn's logger without client addresses or request lines (haven.logs), and with no
    access log at all, whatever the configuration says."""

    def critical(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.error_log.critical(gunicorn_message(msg, args), **kwargs)

    def error(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.error_log.error(gunicorn_message(msg, args), **kwargs)

    def warning(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.error_log.warning(gunicorn_message(msg, args), **kwargs)

    def info(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.error_log.info(gunicorn_message(msg, args), **kwargs)

    def debug(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.error_log.debug(gunicorn_message(msg, args), **kwargs)

    def exception(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.error_log.exception(gunicorn_message(msg, args), **kwargs)

    def log(self, lvl: Any, msg: Any, *args: Any, **kwargs: Any) -> None:
        super().log(lvl, gunicorn_message(msg, args), **kwargs)

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        return None  # who contacted Haven, when and from where is metadata we do not keep


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
            # (and a portal path or query could carry what a requester typed). The error log says
            # that a request was refused, never who sent it or what it held.
            "accesslog": None,
            "logger_class": HavenGunicornLogger,
            "errorlog": "-",
            "loglevel": "warning",
            "timeout": 60,
            "graceful_timeout": 10,
            "forwarded_allow_ips": "127.0.0.1,::1",
            # Files gunicorn creates (a unix socket, its worker heartbeat) for this user only.
            "umask": 0o077,
        }
    ).run()
