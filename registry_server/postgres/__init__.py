"""PostgreSQL plumbing shared by the PostgreSQL stores: connections, schema migrations, notifications."""
