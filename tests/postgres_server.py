"""A throwaway PostgreSQL cluster for the tests: ``initdb`` into a temporary folder, ``pg_ctl
start`` on a free loopback port, a database ``mlflow``; stopped and removed at the end.

Debian installs the server binaries (``initdb``, ``pg_ctl``, ``postgres``) outside ``PATH``, in
``/usr/lib/postgresql/<version>/bin``; :func:`find_bin_dir` finds the newest there, else on
``PATH``. ``initdb`` refuses to run as root, so as root the cluster is made and run as the
``postgres`` system user (``runuser``, else ``su``), in a folder it owns; as any other user it runs
as that user. Authentication is ``trust`` and the server listens on 127.0.0.1 only (plus a Unix
socket in the cluster's own folder), so nothing outside this machine can reach it.

Usage::

    with PostgresServer() as pg:
        pg.uri  # postgresql://postgres@127.0.0.1:PORT/mlflow (libpq, psycopg2.connect)
        pg.sqlalchemy_uri  # postgresql+psycopg2://... (mlflow server --backend-store-uri)
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from mlflow_servers import LOOPBACK, Service, free_port

__all__ = ["PostgresServer", "PostgresUnavailableError", "find_bin_dir"]

SUPERUSER = "postgres"
DATABASE = "mlflow"
SYSTEM_USER = "postgres"  # who runs the cluster when the tests run as root


class PostgresUnavailableError(RuntimeError):
    """No PostgreSQL server binaries on this machine (a reason to skip, not a failure)."""


def _version_key(path: str) -> tuple[int, ...]:
    match = re.search(r"/postgresql/([\d.]+)/bin$", path)
    return tuple(int(p) for p in match.group(1).split(".") if p) if match else ()


def find_bin_dir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: Debian's newest, else the one on ``PATH``."""
    debian = [
        str(Path(initdb).parent)
        for initdb in glob.glob("/usr/lib/postgresql/*/bin/initdb")
        if os.access(initdb, os.X_OK) and os.access(Path(initdb).with_name("pg_ctl"), os.X_OK)
    ]
    if debian:
        return Path(max(debian, key=_version_key))
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl and Path(initdb).parent == Path(pg_ctl).parent:
        return Path(initdb).parent
    return None


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"


class PostgresServer(Service):
    """A PostgreSQL cluster in a fresh temporary folder, on a free port of 127.0.0.1.

    ``uri`` is ``postgresql://postgres@127.0.0.1:PORT/mlflow`` once started, and
    ``sqlalchemy_uri`` the same with the ``psycopg2`` driver named, for MLflow. ``start()`` raises
    :class:`PostgresUnavailableError` when no server binaries are installed, ``RuntimeError`` (with
    the server's log) when they are but the cluster does not come up.
    """

    def __init__(self, *, bin_dir: str | os.PathLike[str] | None = None) -> None:
        found = Path(bin_dir) if bin_dir is not None else find_bin_dir()
        self.bin_dir = found
        self.root: Path | None = None
        self.port: int | None = None
        self.uri: str | None = None
        self.sqlalchemy_uri: str | None = None
        self.startup_seconds: float | None = None
        self._as_system_user = os.geteuid() == 0

    # ------------------------------------------------------------------ paths
    @property
    def data_dir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        assert self.root is not None
        return self.root / "socket"

    @property
    def log_path(self) -> Path:
        assert self.root is not None
        return self.root / "server.log"

    def log_tail(self, lines: int = 40) -> str:
        return _tail(self.log_path, lines) if self.root is not None else "<not started>"

    # ------------------------------------------------------------------ running commands
    def _tool(self, name: str) -> str:
        assert self.bin_dir is not None
        return str(self.bin_dir / name)

    def _run(self, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a server binary, as the ``postgres`` system user when we are root."""
        if self._as_system_user:
            if shutil.which("runuser"):
                args = ["runuser", "-u", SYSTEM_USER, "--", *args]
            else:
                args = ["su", SYSTEM_USER, "-s", "/bin/sh", "-c", shlex.join(args)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = env["LANG"] = "C"
        return subprocess.run(
            args,
            cwd=self.root,  # the postgres user may not be allowed into our working folder
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def _check(self, what: str, result: subprocess.CompletedProcess[str]) -> None:
        if result.returncode != 0:
            raise RuntimeError(
                f"{what} failed with exit code {result.returncode}:\n{result.stdout}\n"
                f"{result.stderr}\nserver log {self.log_path}:\n{self.log_tail()}"
            )

    # ------------------------------------------------------------------ life cycle
    def start(self, attempts: int = 3) -> PostgresServer:
        if self.root is not None:
            raise RuntimeError("PostgresServer already started")
        if self.bin_dir is None:
            raise PostgresUnavailableError(
                "no PostgreSQL server binaries: neither /usr/lib/postgresql/*/bin/initdb nor "
                "initdb/pg_ctl on PATH (install Debian's `postgresql` package)"
            )
        started = time.monotonic()
        # Not under pytest's basetemp: that is private to our user, and the server runs as
        # the postgres user when we are root.
        self.root = Path(tempfile.mkdtemp(prefix="staleness-pg-"))
        try:
            os.chmod(self.root, 0o755)
            self.data_dir.mkdir(mode=0o700)
            self.socket_dir.mkdir(mode=0o700)
            self.log_path.touch()
            if self._as_system_user:
                try:
                    user = pwd.getpwnam(SYSTEM_USER)
                except KeyError as exc:
                    raise RuntimeError(
                        f"running as root, but there is no {SYSTEM_USER!r} system user to run "
                        f"PostgreSQL as (initdb refuses root)"
                    ) from exc
                for path in (self.root, self.data_dir, self.socket_dir, self.log_path):
                    os.chown(path, user.pw_uid, user.pw_gid)
            self._check(
                "initdb",
                self._run(
                    [
                        self._tool("initdb"),
                        "-D",
                        str(self.data_dir),
                        "-U",
                        SUPERUSER,
                        "--auth=trust",
                        "--encoding=UTF8",
                        "--no-locale",
                        "--no-sync",
                    ]
                ),
            )
            self._start_on_a_free_port(attempts)
            self._create_database()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def _start_on_a_free_port(self, attempts: int) -> None:
        for attempt in range(1, attempts + 1):
            port = free_port()
            options = " ".join(
                [
                    f"-c listen_addresses={LOOPBACK}",
                    f"-c port={port}",
                    f"-c unix_socket_directories={self.socket_dir}",
                    # a throwaway cluster: durability is not the point, speed is
                    "-c fsync=off",
                    "-c synchronous_commit=off",
                    "-c full_page_writes=off",
                    "-c max_connections=200",
                ]
            )
            result = self._run(
                [
                    self._tool("pg_ctl"),
                    "start",
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_path),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    options,
                ]
            )
            if result.returncode == 0:
                self.port = port
                self.uri = f"postgresql://{SUPERUSER}@{LOOPBACK}:{port}/{DATABASE}"
                # SQLAlchemy 2.1 maps plain postgresql:// to psycopg 3; the tests install
                # psycopg2-binary, so name that driver
                self.sqlalchemy_uri = self.uri.replace("postgresql://", "postgresql+psycopg2://", 1)
                return
            if attempt == attempts:  # the port may have been taken meanwhile: retry first
                self._check(f"pg_ctl start (port {port})", result)

    def _create_database(self) -> None:
        result = self._run(
            [
                self._tool("createdb"),
                "-h",
                LOOPBACK,
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                DATABASE,
            ]
        )
        self._check(f"createdb {DATABASE}", result)

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its folder."""
        if self.root is None:
            return
        root = self.root
        try:
            if (self.data_dir / "postmaster.pid").exists():
                result = self._run(
                    [self._tool("pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "fast", "-w"],
                    timeout=60,
                )
                if result.returncode != 0:
                    self._kill_postmaster()
        finally:
            self.root = None
            self.uri = self.sqlalchemy_uri = None
            shutil.rmtree(root, ignore_errors=True)

    def _kill_postmaster(self) -> None:
        """Last resort: SIGKILL the postmaster this cluster started (its pid file's first line)."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
            os.kill(pid, signal.SIGKILL)
