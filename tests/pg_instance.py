"""A throwaway PostgreSQL server of a test's own: `initdb` + `pg_ctl` on a spare port.

For tests that stop and start the database under a running bot (tests/test_db_outage.py)
without touching the machine's shared server. The binaries are found under
/usr/lib/postgresql/*/bin (or `PG_BIN`); as root (initdb refuses root) the server runs as
the `postgres` user, in a directory it owns. Trust authentication on 127.0.0.1 only.

    with PgInstance() as pg:
        url = pg.url            # postgresql+psycopg://postgres@127.0.0.1:<port>/postgres
        pg.stop()               # the database goes away (fast shutdown: connections cut)
        pg.start()              # and comes back, same data
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from devtools.server import free_port

__all__ = ["PgInstance", "pg_bin"]


def pg_bin() -> Path | None:
    """The directory of initdb and pg_ctl, the newest version found; None without one."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name)
                   if Path(p).parent.parent.name.isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


class PgInstance:
    def __init__(self, *, port: int | None = None) -> None:
        bin_dir = pg_bin()
        if bin_dir is None:
            raise RuntimeError("no PostgreSQL binaries (initdb, pg_ctl) found")
        self.bin = bin_dir
        self.port = port or free_port()
        self._as_root = os.geteuid() == 0
        # Not under pytest's tmp_path: as root, the postgres user must reach the directory.
        self.dir = Path(tempfile.mkdtemp(prefix="deploybot-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        if self._as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self._initdb()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self._as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=60)

    def _initdb(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C")

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} "
                   "-c fsync=off -c full_page_writes=off -c synchronous_commit=off")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                  "-o", options, "-w", "-t", "30", "start")
        deadline = time.monotonic() + 30
        while subprocess.run([str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p",
                              str(self.port)], capture_output=True).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not come up: {self.log.read_text()}")
            time.sleep(0.1)

    def stop(self) -> None:
        """Fast shutdown: open connections are cut, as when the server goes away."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w",
                  "stop", check=False)

    def running(self) -> bool:
        return self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "status",
                         check=False).returncode == 0

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PgInstance:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.cleanup()
