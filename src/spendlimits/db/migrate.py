"""Plain-SQL migrations: ``migrations/NNNNNN_name.up.sql`` and ``.down.sql``.

Applied under a PostgreSQL advisory lock, so several processes starting at once apply each
migration exactly once. Each version is recorded in ``schema_migrations``. A version is marked
dirty before its file runs and clean in the same transaction as the file, so a dirty row means a
run died without reporting back: the service refuses such a database, and refuses one that has
versions this code does not know (a newer release migrated it).
"""

import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg

# Any constant works; this one is "spendlimits" folded into a signed 64-bit integer.
ADVISORY_LOCK_KEY = 0x5350454E444C494D
_FILE = re.compile(r"^(\d{6})_([a-z0-9_]+)\.(up|down)\.sql$")


class MigrationError(RuntimeError):
    """The database is not in a state this code can migrate or serve."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    up_sql: str
    down_sql: str


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    applied: list[int]
    dirty: list[int]
    pending: list[Migration]
    #: Versions in the database that this code has no file for.
    unknown: list[int]

    @property
    def current(self) -> int:
        return max(self.applied, default=0)


def migrations_dir() -> Path:
    """Where the SQL files are: an explicit setting, the source tree, or the installed copy."""
    explicit = os.environ.get("SPENDLIMITS_MIGRATIONS_DIR")
    if explicit:
        return Path(explicit)
    source_tree = Path(__file__).resolve().parents[3] / "migrations"
    if source_tree.is_dir():
        return source_tree
    return Path(sys.prefix) / "share" / "spendlimits" / "migrations"


def load_migrations(directory: Path | None = None) -> list[Migration]:
    directory = directory or migrations_dir()
    files: dict[int, dict[str, Path]] = {}
    names: dict[int, str] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE.match(path.name)
        if not match:
            raise MigrationError(f"unexpected file in {directory}: {path.name}")
        version, name, direction = int(match[1]), match[2], match[3]
        if names.setdefault(version, name) != name:
            raise MigrationError(f"two names for migration {version}: {names[version]}, {name}")
        files.setdefault(version, {})[direction] = path
    migrations = []
    for version in sorted(files):
        pair = files[version]
        if set(pair) != {"up", "down"}:
            raise MigrationError(f"migration {version} needs both an .up.sql and a .down.sql file")
        migrations.append(
            Migration(version, names[version], pair["up"].read_text(), pair["down"].read_text())
        )
    if not migrations:
        raise MigrationError(f"no migrations found in {directory}")
    return migrations


async def connect(url: str) -> asyncpg.Connection:
    """A plain asyncpg connection: migration files hold several statements, which need the
    simple query protocol that SQLAlchemy's prepared statements do not use."""
    # No statement cache: a cached (named) statement breaks behind a transaction pooler (PgBouncer),
    # and nothing here runs often enough to gain from one.
    return await asyncpg.connect(
        url.replace("postgresql+asyncpg://", "postgresql://", 1), statement_cache_size=0
    )


async def _prepare(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_lock($1)", ADVISORY_LOCK_KEY)
    await conn.execute(
        """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    bigint      PRIMARY KEY,
            name       text        NOT NULL,
            dirty      boolean     NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )


async def _release(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_unlock($1)", ADVISORY_LOCK_KEY)


async def _status(conn: asyncpg.Connection, migrations: Sequence[Migration]) -> MigrationStatus:
    rows = await conn.fetch("SELECT version, dirty FROM schema_migrations ORDER BY version")
    applied = [int(r["version"]) for r in rows]
    known = {m.version for m in migrations}
    return MigrationStatus(
        applied=applied,
        dirty=[int(r["version"]) for r in rows if r["dirty"]],
        pending=[m for m in migrations if m.version not in applied],
        unknown=[v for v in applied if v not in known],
    )


def _refuse_unsafe(status: MigrationStatus) -> None:
    if status.dirty:
        raise MigrationError(
            f"database is dirty at version {status.dirty[0]}: a migration started and did not "
            "finish. Check the schema by hand, then run `spendlimits migrate force VERSION`."
        )
    if status.unknown:
        raise MigrationError(
            f"database has migration {max(status.unknown)}, newer than this code knows "
            f"(latest here: {max((m.version for m in status.pending), default=status.current)}). "
            "Run a newer spendlimits, or migrate down with it first."
        )


async def status(conn: asyncpg.Connection, migrations: Sequence[Migration]) -> MigrationStatus:
    await _prepare(conn)
    try:
        return await _status(conn, migrations)
    finally:
        await _release(conn)


async def up(
    conn: asyncpg.Connection, migrations: Sequence[Migration], target: int | None = None
) -> list[int]:
    """Apply pending migrations up to ``target`` (default: all). Returns the versions applied."""
    await _prepare(conn)
    try:
        current = await _status(conn, migrations)
        _refuse_unsafe(current)
        done = []
        for migration in current.pending:
            if target is not None and migration.version > target:
                break
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, dirty) VALUES ($1, $2, true)",
                migration.version,
                migration.name,
            )
            try:
                async with conn.transaction():
                    await conn.execute(migration.up_sql)
                    await conn.execute(
                        "UPDATE schema_migrations SET dirty = false, applied_at = now() WHERE version = $1",
                        migration.version,
                    )
            except Exception as exc:
                # PostgreSQL rolled the whole file back, so the database is as it was before.
                await conn.execute("DELETE FROM schema_migrations WHERE version = $1", migration.version)
                raise MigrationError(
                    f"migration {migration.version}_{migration.name} failed and was rolled back: {exc}"
                ) from exc
            done.append(migration.version)
        return done
    finally:
        await _release(conn)


async def down(conn: asyncpg.Connection, migrations: Sequence[Migration], steps: int = 1) -> list[int]:
    """Revert the last ``steps`` applied migrations. Returns the versions reverted."""
    if steps < 1:
        raise MigrationError("steps must be at least 1")
    by_version = {m.version: m for m in migrations}
    await _prepare(conn)
    try:
        current = await _status(conn, migrations)
        _refuse_unsafe(current)
        done = []
        for version in sorted(current.applied, reverse=True)[:steps]:
            async with conn.transaction():
                await conn.execute(by_version[version].down_sql)
                await conn.execute("DELETE FROM schema_migrations WHERE version = $1", version)
            done.append(version)
        return done
    finally:
        await _release(conn)


async def force(conn: asyncpg.Connection, migrations: Sequence[Migration], version: int) -> None:
    """Record the database as cleanly at ``version`` after it was repaired by hand."""
    by_version = {m.version: m for m in migrations}
    if version != 0 and version not in by_version:
        raise MigrationError(f"no migration {version} in this code")
    await _prepare(conn)
    try:
        async with conn.transaction():
            await conn.execute("DELETE FROM schema_migrations WHERE version > $1", version)
            for v in sorted(by_version):
                if v <= version:
                    await conn.execute(
                        """
                        INSERT INTO schema_migrations (version, name, dirty) VALUES ($1, $2, false)
                        ON CONFLICT (version) DO UPDATE SET dirty = false
                        """,
                        v,
                        by_version[v].name,
                    )
    finally:
        await _release(conn)
