"""A throwaway PostgreSQL server for tests.

Usage in a conftest.py::

    from tests.postgres import postgres_server  # noqa: F401  (session fixture)

or directly: ``server = PostgresServer.start(); ...; server.stop()``.

The binaries come from ``$SUPA_ENGINE_PG_BIN`` or ``/usr/lib/postgresql/15/bin``. Without them
the database tests skip with the reason, except under SUPA_ENGINE_REQUIRE_TOOLS=1 (CI), where
that is a failure (``tests.tools``). initdb/postgres refuse to run as root,
so as root the server runs as the ``postgres`` system user (via ``runuser``).

The cluster: superuser ``postgres`` reachable without password over the Unix socket in a
private directory; TCP on 127.0.0.1 and a free port with SCRAM passwords for everyone else.
"""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from tests.tools import tool_missing

DEFAULT_BIN = "/usr/lib/postgresql/15/bin"
SYSTEM_USER = "postgres"
SUPERUSER = "postgres"


class PostgresUnavailable(RuntimeError):
    """The server could not be set up; the message says why and how to fix it."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    bin_dir: Path
    root: Path
    port: int
    run_as: str | None
    _running: bool = field(default=False, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    # --- lifecycle -----------------------------------------------------------------------------

    @classmethod
    def start(cls, bin_dir: str | None = None) -> PostgresServer:
        bins = Path(bin_dir or os.environ.get("SUPA_ENGINE_PG_BIN", DEFAULT_BIN))
        for tool in ("initdb", "pg_ctl", "postgres"):
            if not (bins / tool).is_file():
                raise PostgresUnavailable(
                    f"PostgreSQL binary {bins / tool} not found. Install PostgreSQL 15 server "
                    "binaries (Debian/Ubuntu: apt-get install postgresql-15) or point "
                    "SUPA_ENGINE_PG_BIN at their bin directory."
                )
        run_as = None
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam(SYSTEM_USER)
            except KeyError:
                raise PostgresUnavailable(
                    f"Running as root but there is no {SYSTEM_USER!r} system user to run the "
                    "PostgreSQL server as (initdb refuses root)."
                ) from None
            if shutil.which("runuser") is None:
                raise PostgresUnavailable("Running as root but `runuser` is not installed.")
            run_as = SYSTEM_USER
        root = Path(tempfile.mkdtemp(prefix="supa-pg-"))
        (root / "sock").mkdir()
        if run_as is not None:
            for path in (root, root / "sock"):
                os.chown(path, pw.pw_uid, pw.pw_gid)
        server = cls(bins, root, _free_port(), run_as)
        try:
            server._initdb()
            server._start_with_retries()
        except BaseException:
            server.stop()
            raise
        atexit.register(server.stop)
        return server

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self.run_as is not None:
            cmd = ["runuser", "-u", self.run_as, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)

    def _initdb(self) -> None:
        result = self._run(
            str(self.bin_dir / "initdb"),
            "-D", str(self.data_dir),
            "-U", SUPERUSER,
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )  # fmt: skip
        if result.returncode != 0:
            raise PostgresUnavailable(f"initdb failed:\n{result.stdout}\n{result.stderr}")

    def _start_with_retries(self, attempts: int = 3) -> None:
        for attempt in range(attempts):
            options = " ".join(
                [
                    f"-p {self.port}",
                    f"-k {self.socket_dir}",
                    "-c listen_addresses=127.0.0.1",
                    "-c fsync=off",
                    "-c synchronous_commit=off",
                    "-c full_page_writes=off",
                    "-c max_connections=60",
                ]
            )
            result = self._run(
                str(self.bin_dir / "pg_ctl"),
                "-D", str(self.data_dir),
                "-l", str(self.log_file),
                "-o", options,
                "-w", "-t", "60",
                "start",
            )  # fmt: skip
            if result.returncode == 0:
                self._running = True
                return
            if attempt + 1 < attempts:  # most likely the port was taken meanwhile
                self.port = _free_port()
        log = self.log_file.read_text(errors="replace")[-3000:] if self.log_file.exists() else ""
        raise PostgresUnavailable(f"pg_ctl start failed:\n{result.stderr}\n--- server log ---\n{log}")

    def stop(self) -> None:
        if self._running:
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "stop")
            self._running = False
        shutil.rmtree(self.root, ignore_errors=True)

    # --- access --------------------------------------------------------------------------------

    def dsn(self, dbname: str, user: str, password: str | None = None) -> str:
        """A TCP DSN (password authentication) for ``user``."""
        params: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "dbname": dbname,
            "user": user,
        }
        if password is not None:
            params["password"] = password
        return make_conninfo(**params)

    def superuser_dsn(self, dbname: str = "postgres") -> str:
        """A Unix-socket DSN for the superuser (trust authentication)."""
        return make_conninfo(host=str(self.socket_dir), port=self.port, dbname=dbname, user=SUPERUSER)

    def connect(self, dbname: str = "postgres", **kwargs: Any) -> psycopg.Connection[Any]:
        """A superuser connection (autocommit unless told otherwise)."""
        kwargs.setdefault("autocommit", True)
        return psycopg.connect(self.superuser_dsn(dbname), **kwargs)

    def create_database(self, name: str, owner: str) -> None:
        with self.connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(owner)))

    def drop_database(self, name: str) -> None:
        with self.connect() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole test session, removed at the end."""
    try:
        server = PostgresServer.start()
    except PostgresUnavailable as exc:
        tool_missing(str(exc))
    try:
        yield server
    finally:
        server.stop()
