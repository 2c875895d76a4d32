"""Database models and engine. Import ``scheduler.db.models`` to register every table."""
