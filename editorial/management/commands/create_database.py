"""``manage.py create_database``: the configured PostgreSQL database, created if it does not exist.

``make migrate`` (and so ``make run``) calls it first, as the tables' owner, so that the README's
PostgreSQL command works on a server that has no database of that name yet. On SQLite it does
nothing: the file is created by the first connection.
"""

import psycopg
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from psycopg import sql


class Command(BaseCommand):
    help = "Create the configured PostgreSQL database if the server has none of that name (SQLite: nothing to do)."

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            return
        settings = connection.settings_dict
        name = settings["NAME"]
        params = {
            "host": settings.get("HOST") or None,
            "port": settings.get("PORT") or None,
            "user": settings.get("USER") or None,
            "password": settings.get("PASSWORD") or None,
            "dbname": "postgres",  # the server's maintenance database
            "autocommit": True,
        }
        try:
            with psycopg.connect(**{key: value for key, value in params.items() if value is not None}) as server:
                if server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                    return
                server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as error:
            raise CommandError(f"Could not create the database {name!r}: {error}") from error
        self.stdout.write(f"Created the database {name}.")
