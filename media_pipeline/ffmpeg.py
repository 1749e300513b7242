"""Find the ffmpeg binary and run it (or any helper program) safely with a time limit."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import ErrorCode, MediaError

# Helpers get only these variables: a hostile file that exploited a demuxer bug should not
# find the web app's secrets (database URL, secret key) in its environment.
_ENV_KEEP = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "LD_LIBRARY_PATH", "TMPDIR", "TZ")
_ENV_PREFIXES = ("ESPEAK", "PYTHON")


def helper_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return a minimal environment for helper processes, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k in _ENV_KEEP or k.startswith(_ENV_PREFIXES)}
    env.update(extra or {})
    return env


# Keep only the tail of stderr: it is for logs, and a hostile file can make ffmpeg chatty.
_MAX_STDERR_CHARS = 8000


@dataclass(frozen=True)
class ProcessResult:
    """Outcome of a finished helper process."""

    returncode: int
    stdout: bytes
    stderr: str

    @property
    def ok(self) -> bool:
        """True when the process exited with status 0."""
        return self.returncode == 0


def ffmpeg_exe() -> str:
    """Return the ffmpeg binary: $STORYHUB_FFMPEG if set, else imageio-ffmpeg's static build."""
    override = os.environ.get("STORYHUB_FFMPEG")
    if override:
        return override
    # Imported lazily: it is only needed when no override is configured.
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def file_url(path: Path) -> str:
    """Return an ffmpeg input/output URL for a local path that can't be mistaken for a protocol."""
    # "file:" stops names such as "http:x.mp4" or "-y.mp4" being read as a protocol or option.
    return "file:" + str(Path(path).resolve())


def run_process(
    argv: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    stdin_data: bytes | None = None,
    cwd: str | Path | None = None,
) -> ProcessResult:
    """Run a program (never through a shell), killing it and raising MediaError on timeout.

    `env` defaults to helper_env(), not the caller's full environment.
    """
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env) if env is not None else helper_env(),
            cwd=cwd,
            # Own process group, so a timeout kills anything the helper started too.
            start_new_session=True,
        )
    except OSError as exc:
        raise MediaError("failed", detail=f"could not start {argv[0]}: {exc}") from exc
    try:
        out, err = proc.communicate(input=stdin_data, timeout=max(timeout, 0.0))
    except subprocess.TimeoutExpired as exc:
        _kill_group(proc)
        proc.communicate()
        raise MediaError("timeout", detail=f"{Path(argv[0]).name} exceeded {timeout:g}s") from exc
    except BaseException:
        # KeyboardInterrupt etc.: never leave an orphaned ffmpeg behind.
        _kill_group(proc)
        proc.communicate()
        raise
    text = err.decode("utf-8", errors="replace")[-_MAX_STDERR_CHARS:]
    return ProcessResult(returncode=proc.returncode, stdout=out, stderr=text)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def run_ffmpeg(
    args: Sequence[str],
    *,
    timeout: float,
    loglevel: str = "error",
    check: bool = True,
    error_code: ErrorCode = "failed",
) -> ProcessResult:
    """Run ffmpeg with `args`; return its result (stderr text), raising MediaError on failure."""
    argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-loglevel", loglevel, *args]
    result = run_process(argv, timeout=timeout)
    if check and not result.ok:
        raise MediaError(error_code, detail=result.stderr.strip() or f"exit {result.returncode}")
    return result
