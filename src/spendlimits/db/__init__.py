"""The database layer: connection, embedded server, migrations, table definitions."""
