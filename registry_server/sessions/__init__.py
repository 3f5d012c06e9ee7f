"""The session store: SQLite through aiosqlite, with group commit, migrations and retention."""
