"""The Procfile's ``web:`` line, run as a deployment runs it: a process of its own.

Every other end-to-end test builds the ASGI app in-process; this one starts the real command,
with its settings from the environment only, and talks to it over HTTP: ``/healthz``, then a
signed ``/invoices`` whose private reply must reach the Slack stand-in. Ropo One is the
built-in sandbox (no ``ROPO_CID``), as on a first deploy.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.dev.slack_requests import signed_headers, slash_command_body
from bot.dev.slack_standin import SlackStandIn
from bot.slack.web import EVENTS_PATH, HEALTH_PATH
from tests.conftest import AUDIT_KEY, BOT_TOKEN, SIGNING_SECRET, audit_db_path, run_secrets
from tests.privacy import assert_no_identity_code
from tests.servers import ServedApp

PROCFILE = Path(__file__).resolve().parent.parent / "Procfile"
HETU = "131052-308T"
START_TIMEOUT_S = 30.0  # a cold interpreter on a loaded CI machine


def procfile_command(process: str) -> list[str]:
    """The Procfile's command for ``process``, run by this interpreter (the venv's python)."""
    for line in PROCFILE.read_text(encoding="utf-8").splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process:
            argv = shlex.split(command)
            assert argv[0] == "python", f"the {process}: line does not start with python"
            return [sys.executable, *argv[1:]]
    raise AssertionError(f"the Procfile has no {process}: line")


def free_port() -> int:
    """A port nothing listens on now (the kernel's pick for port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def slack() -> Iterator[tuple[SlackStandIn, str]]:
    standin = SlackStandIn()
    with ServedApp(standin.app, lifespan="off") as served:
        yield standin, served.url


def test_the_procfiles_web_process_serves_a_lookup_and_logs_no_identity_code(
    slack: tuple[SlackStandIn, str], tmp_path: Path
) -> None:
    standin, slack_url = slack
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ROPO_", "AUDIT_"))}
    env |= {
        "PORT": str(port),
        "SLACK_API_URL": f"{slack_url}/api/",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "AUDIT_KEY": AUDIT_KEY,
        "AUDIT_DB": str(audit_db_path("serve")),
        "LOG_LEVEL": "DEBUG",  # the most the process can say: none of it may hold the code
        "PYTHONUNBUFFERED": "1",
    }
    # Loopback only in tests; everything else is the Procfile's own command.
    command = [*procfile_command("web"), "--host", "127.0.0.1"]
    log = tmp_path / "web.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(timeout=10) as http:
            health = wait_for_health(http, base, process, log)
            assert health == {
                "status": "ok",
                "ropo": "sandbox",
                "circuit": "closed",
                "circuit_retry_in_s": None,
            }

            response_url = f"{slack_url}/response/serve1"
            body = slash_command_body(HETU, response_url)
            ack = http.post(
                base + EVENTS_PATH, content=body, headers=signed_headers(SIGNING_SECRET, body)
            )
            assert ack.status_code == 200
            assert ack.text == ""
            (reply,) = standin.wait_for_responses(1, "serve1", timeout=20)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            returncode = process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
    output = log.read_text(encoding="utf-8", errors="replace")

    assert reply.body["response_type"] == "ephemeral"
    assert "131052-****" in reply.body["text"]
    assert "SBX-10002" in str(reply.body["blocks"])  # the sandbox's invoices, rendered
    assert_no_identity_code(str(reply.body), [HETU], where="the reply")
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it so the parent sees why.
    assert returncode in (0, -signal.SIGTERM), f"exit {returncode}:\n{output[-2000:]}"
    # Not vacuous: the process logged at DEBUG, the lookup, and a clean shutdown.
    assert "DEBUG" in output
    assert "lookup R-" in output
    assert "Application shutdown complete" in output
    assert_no_identity_code(output, [HETU], where="the web process's output")
    leaked = [name for name, secret in run_secrets().items() if secret in output]
    assert leaked == [], f"{', '.join(leaked)} in the web process's output"


def wait_for_health(
    http: httpx.Client, base: str, process: subprocess.Popen[bytes], log: Path
) -> object:
    """``/healthz``'s answer once the process serves it; fail with its output if it died."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if process.poll() is not None:
            output = log.read_text(encoding="utf-8", errors="replace")
            pytest.fail(f"the web process exited with {process.returncode}:\n{output[-2000:]}")
        try:
            return http.get(base + HEALTH_PATH).json()
        except httpx.TransportError:
            if time.monotonic() > deadline:
                pytest.fail(f"no /healthz on {base} within {START_TIMEOUT_S} s")
            time.sleep(0.05)


def test_workers_on_a_port_already_taken_stop_with_one_clear_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ROPO_", "AUDIT_"))}
    env |= {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "AUDIT_DB": str(tmp_path / "taken.db"),
        "WEB_CONCURRENCY": "2",
    }
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [*procfile_command("web"), "--host", "127.0.0.1", "--port", str(port)]
        result = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in result.stderr
    assert "Traceback" not in result.stderr
