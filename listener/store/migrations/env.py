"""Alembic environment: runs on the connection `listener.store.db.migrate` hands over."""

from alembic import context
from sqlalchemy import create_engine

from listener.store.schema import metadata

connection = context.config.attributes.get("connection")


def _run(conn) -> None:
    context.configure(
        connection=conn,
        target_metadata=metadata,
        render_as_batch=conn.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:  # `alembic revision --autogenerate` from a shell, against UNDERTOW_DATABASE_URL
    import os

    with create_engine(os.environ["UNDERTOW_DATABASE_URL"]).connect() as conn:
        _run(conn)
        conn.commit()
