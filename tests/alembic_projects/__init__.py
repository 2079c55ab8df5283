"""Sample Alembic projects the migration checker is tested on (see test_migration_projects)."""
