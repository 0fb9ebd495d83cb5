"""The ``spendlimits`` command: serve, migrate, users, tokens, export-schema."""

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TextIO, TypeVar

from spendlimits.auth.principal import Role, Service
from spendlimits.db import migrate
from spendlimits.db.engine import create_engine, database_url
from spendlimits.errors import DomainError
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
            "the database has no users yet: `spendlimits serve --demo` (or `make run ARGS=--demo`) "
            "loads sample data and prints an owner token",
            file=sys.stderr,
        )
    print(f"spendlimits serving GraphQL at http://{host}:{port}/graphql", file=sys.stderr)
    with shared_metrics_dir(args.workers or 1):
        uvicorn.run(
            "spendlimits.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=args.workers,
            log_level=settings.log_level.lower(),
            access_log=False,
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
    from spendlimits.demo import OWNER, load_demo
    from spendlimits.progress import ProgressLine

    progress = ProgressLine(sys.stderr)

    async def work() -> None:
        engine = create_engine(url, settings)
        try:
            loaded = await load_demo(engine, progress=progress.update)
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
    from spendlimits.auth.tokens import create_token
    from spendlimits.directory.users import find_user_by_username

    async def work(url: str) -> str:
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
        return created.secret

    # The secret alone on stdout, so TOKEN=$(spendlimits tokens create ...) works.
    print(_run(settings, work))
    return 0


def cmd_export_schema(_: argparse.Namespace, __: Settings) -> int:
    from spendlimits.graphql.schema import export_sdl

    sys.stdout.write(export_sdl())
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="spendlimits", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="migrate the database, then serve GraphQL")
    serve.add_argument("--host", help="bind address (default: SPENDLIMITS_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: SPENDLIMITS_PORT or 8000)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default: 1)")
    serve.add_argument(
        "--demo", action="store_true", help="load sample data (re-runnable) and print an owner token first"
    )
    serve.set_defaults(func=cmd_serve)

    mig = sub.add_parser("migrate", help="apply, revert or show database migrations")
    mig_sub = mig.add_subparsers(dest="action", required=True)
    up = mig_sub.add_parser("up", help="apply pending migrations")
    up.add_argument("target", nargs="?", type=int, help="stop at this version (default: latest)")
    down = mig_sub.add_parser("down", help="revert the last N migrations")
    down.add_argument("steps", nargs="?", type=int, default=1, help="how many (default: 1)")
    mig_sub.add_parser("status", help="show the current version and pending migrations")
    force = mig_sub.add_parser("force", help="mark the database clean at VERSION after a manual repair")
    force.add_argument("version", type=int)
    mig.set_defaults(func=cmd_migrate)

    users = sub.add_parser("users", help="manage users").add_subparsers(dest="action", required=True)
    uc = users.add_parser("create", help="create a user and print its id")
    uc.add_argument("--username", required=True)
    uc.add_argument("--role", choices=[r.value for r in Role], default=Role.MEMBER.value)
    uc.add_argument("--name")
    uc.add_argument("--email")
    uc.set_defaults(func=cmd_users_create)

    tokens = sub.add_parser("tokens", help="manage API tokens").add_subparsers(dest="action", required=True)
    tc = tokens.add_parser("create", help="create a token and print its secret alone on stdout")
    who = tc.add_mutually_exclusive_group(required=True)
    who.add_argument("--username", help="the user the token acts for")
    who.add_argument("--service", choices=[s.value for s in Service], help="a service account")
    tc.add_argument("--name", help="a label for the token")
    tc.set_defaults(func=cmd_tokens_create)

    imp = sub.add_parser(
        "import",
        help="bulk-load JSON Lines (organizations, users, groups, memberships, models, chats, messages)",
        description=(
            'Reads JSON Lines, one object per line with a "type" and its fields (see the README), in '
            "batches of one transaction each. Re-running a file adds nothing. Progress and each "
            "rejected line (number and reason) go to stderr; good lines are imported regardless."
        ),
        epilog="exit status: 0 when every line was imported, 1 if any line was rejected",
    )
    imp.add_argument("file", help="the JSON Lines file, or - for stdin")
    imp.add_argument("--batch-size", type=int, default=500, help="lines per transaction (default: 500)")
    imp.set_defaults(func=cmd_import)

    export = sub.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    export.set_defaults(func=cmd_export_schema)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        configure_logging(settings.log_level, settings.log_format)
        code: int = args.func(args, settings)
        return code
    except (CliError, SettingsError, migrate.MigrationError) as exc:
        print(f"spendlimits: {exc}", file=sys.stderr)
        return 1
    except DomainError as exc:
        print(f"spendlimits: {exc.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
