"""Command line: ``python -m bot [serve | socket | demo | sandbox | audit | doctor | migrate]``.

With no command it picks for you: Socket Mode when ``SLACK_APP_TOKEN`` is set, HTTP mode when
``SLACK_SIGNING_SECRET`` and ``SLACK_BOT_TOKEN`` are, and otherwise the demo console.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

import uvicorn

from bot.audit import cli as audit_cli
from bot.i18n import LANGUAGES
from bot.logs import configure_logging
from bot.national_ids import Country
from bot.settings import Settings, SettingsError, load_settings

logger = logging.getLogger("bot")


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, load settings, run the chosen mode; return the exit code."""
    args = _parser().parse_args(argv)
    if args.command == "doctor":  # it reports broken settings itself, as one of its checks
        from bot import doctor

        return doctor.run(configure_logs=True)
    try:
        overrides: dict[str, object] = {"ropo_country": args.country} if args.country else {}
        if args.lang:
            overrides["default_language"] = args.lang
        settings = load_settings(**overrides)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    command = args.command or _default_command(settings)
    if command == "demo" and "LOG_LEVEL" not in os.environ:
        # The console is the demo's output; INFO lines in between would only get in the way.
        settings = settings.model_copy(update={"log_level": "WARNING"})
    configure_logging(settings)
    try:
        if command == "serve":
            port = settings.port if args.port is None else args.port  # 0: any free port
            return _serve(settings, port, args.host)
        if command == "socket":
            return asyncio.run(_socket(settings))
        if command == "audit":
            return audit_cli.run(settings, args)
        if command == "migrate":
            return _migrate(settings)
        if command == "demo":
            from bot.dev.demo import run_demo

            return asyncio.run(run_demo(settings, once=args.once))
        return _sandbox(args.host, args.port or 8081, args.latency)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="HTTP mode: POST /slack/events on $PORT")
    serve.add_argument("--port", type=int, help="default: $PORT or 3000; 0: any free port")
    serve.add_argument("--host", default="0.0.0.0", help="default: all interfaces")  # noqa: S104
    commands.add_parser("socket", help="Socket Mode (needs SLACK_APP_TOKEN)")
    demo = commands.add_parser("demo", help="the app in this terminal, on the built-in sandbox")
    demo.add_argument("--once", metavar="TEXT", help='answer one line, e.g. "/invoices C-1001"')
    demo.add_argument(
        "--country",
        choices=[country.value for country in Country],
        help="whose identity codes to accept (default: $ROPO_COUNTRY); the sandbox has "
        "customers of each",
    )
    demo.add_argument(
        "--lang",
        choices=LANGUAGES,
        help="the language the app answers in (default: $DEFAULT_LANGUAGE, else en)",
    )
    sandbox = commands.add_parser("sandbox", help="serve the Ropo One sandbox on its own")
    sandbox.add_argument("--port", type=int, help="default: 8081")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--latency", type=float, default=0.0, help="seconds added per query")
    audit = commands.add_parser(
        "audit", help="search the audit trail (who looked up whom), or purge old rows"
    )
    audit_cli.add_arguments(audit)
    commands.add_parser(
        "doctor", help="check the settings, Slack, Ropo One and the audit store; exit 1 if not"
    )
    commands.add_parser(
        "migrate", help="bring the database's schema up to date (DATABASE_URL, else AUDIT_DB)"
    )
    parser.set_defaults(
        port=None,
        host="0.0.0.0",  # noqa: S104
        once=None,
        latency=0.0,
        country=None,
        lang=None,
    )
    return parser


def _default_command(settings: Settings) -> str:
    if settings.slack_app_token and settings.slack_bot_token:
        return "socket"
    if settings.slack_signing_secret and settings.slack_bot_token:
        return "serve"
    return "demo"


def _serve(settings: Settings, port: int, host: str) -> int:
    if not (settings.slack_signing_secret and settings.slack_bot_token):
        raise SettingsError(
            "HTTP mode needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET "
            "(or run `python -m bot demo` to try the app without Slack)"
        )
    from bot.services import SHUTDOWN_MARGIN_S
    from bot.slack.gc_tuning import settle_after_start_up
    from bot.slack.web import BACKLOG, create_web_app, serve
    from bot.slack.workers import WORKER_ENV, Supervisor, worker_socket
    from bot.store.open import migrate

    if WORKER_ENV in os.environ:  # one of WEB_CONCURRENCY's workers, on the shared port
        sock = worker_socket(host, port, BACKLOG)
        app = create_web_app(settings)
        settle_after_start_up()
        serve(settings, app, host, port, sock=sock, parent_pid=int(os.environ[WORKER_ENV]))
        return 0
    workers = settings.web_concurrency
    if workers > 1:
        # Each worker builds its own app (its own Ropo token and member directory); the
        # store is migrated once here, before any of them starts.
        logger.info("store: %s; starting %d worker processes", migrate(settings), workers)
        drain_s = settings.ropo_timeout_s + SHUTDOWN_MARGIN_S
        return Supervisor(workers, host, port, drain_s=drain_s).run()
    app = create_web_app(settings)
    settle_after_start_up()  # everything is imported and built: what lives for good
    serve(settings, app, host, port)
    return 0


def _migrate(settings: Settings) -> int:
    from bot.store.migrations import LATEST
    from bot.store.open import migrate

    where = migrate(settings)
    print(f"The schema of {where} is at version {LATEST}.")
    return 0


async def _socket(settings: Settings) -> int:
    if not (settings.slack_app_token and settings.slack_bot_token):
        raise SettingsError("Socket Mode needs SLACK_APP_TOKEN (xapp-…) and SLACK_BOT_TOKEN")
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from bot.slack.app import create_app, create_ropo_client, create_services
    from bot.slack.gc_tuning import settle_after_start_up
    from bot.slack.session import SlackHttp
    from bot.slack.web import describe

    ropo = create_ropo_client(settings)
    slack_http = SlackHttp()
    services = create_services(settings, ropo, slack_http)
    app = create_app(settings, services, socket_mode=True, slack_http=slack_http)
    handler = AsyncSocketModeHandler(app, settings.slack_app_token.get_secret_value())
    await slack_http.start()
    await services.start()
    settle_after_start_up()
    logger.info("connecting to Slack in Socket Mode; Ropo One: %s", describe(settings))
    try:
        await handler.start_async()
    finally:
        await handler.close_async()
        await services.finish_lookups()
        await slack_http.aclose()
        await ropo.aclose()
        await services.aclose()
    return 0


def _sandbox(host: str, port: int, latency: float) -> int:
    from bot.ropo.sandbox import SANDBOX_APICODE, SANDBOX_CID, create_sandbox_app

    logger.info(
        "Ropo One sandbox on http://%s:%d/rest — ROPO_BASE_URL=http://%s:%d/rest "
        "ROPO_CID=%s ROPO_APICODE=%s",
        host,
        port,
        host,
        port,
        SANDBOX_CID,
        SANDBOX_APICODE,
    )
    uvicorn.run(
        create_sandbox_app(latency_s=latency),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
