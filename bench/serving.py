"""A real ``shopsense serve`` for benchmarks: uvicorn with one worker on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_server(env: dict[str, str], log: Path) -> Iterator[str]:
    """``shopsense serve`` with ``env`` (SHOPSENSE_* settings) added to this environment,
    logging to ``log``; yields its base URL once ``/health`` answers. On a failure the end
    of the log is printed."""
    port = free_port()
    command = [sys.executable, "-m", "shopsense.cli", "serve", "--host", "127.0.0.1"]
    log_file = log.open("wb")
    process = subprocess.Popen(
        [*command, "--port", str(port)], env=os.environ | env, stderr=log_file
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not answer /health within 60 s")
            time.sleep(0.1)
        yield base
    except BaseException:
        log_file.flush()
        print("server log (end):", *log.read_text().splitlines()[-40:], sep="\n")
        raise
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log_file.close()
