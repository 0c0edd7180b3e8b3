"""PostgreSQL adapters: SQLAlchemy repositories, migrations and the embedded server."""
