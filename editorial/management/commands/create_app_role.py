"""``manage.py create_app_role ROLE``: the role the running application connects as (PostgreSQL)."""

import os

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from psycopg import sql

from editorial.workflow import db_roles


class Command(BaseCommand):
    help = (
        "Create (or bring up to date) the PostgreSQL role the application connects as: SELECT and "
        "INSERT on the append-only records, UPDATE only on the columns that move, owning nothing. "
        "Run as the tables' owner after each migrate. The password, if any, is read from the "
        "environment variable named by --password-env."
    )

    def add_arguments(self, parser):
        parser.add_argument("role", help="The application's role, e.g. editorial_app.")
        parser.add_argument(
            "--password-env", default="", help="Name of an environment variable holding the role's password."
        )

    def handle(self, *args, role: str, password_env: str = "", **options):
        if connection.vendor != "postgresql":
            raise CommandError("Database roles exist on PostgreSQL only (SQLite has no roles).")
        owner = connection.settings_dict["USER"]
        if role == owner:
            raise CommandError(f"{role!r} owns the tables: the application must connect as another role.")
        password = os.environ.get(password_env, "") if password_env else ""
        if password_env and not password:
            raise CommandError(f"The environment variable {password_env} is empty or unset.")
        tables = connection.introspection.table_names()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(role)))
            if password:
                cursor.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))
            for statement in db_roles.grant_statements(role, connection.settings_dict["NAME"], tables):
                cursor.execute(statement)
        append_only = sum(1 for table in tables if table in db_roles.APPEND_ONLY)
        self.stdout.write(
            f"Role {role}: {len(tables)} tables, {append_only} of them append-only (SELECT, INSERT); "
            f"owns nothing. Connect the application as postgres://{role}@…/{connection.settings_dict['NAME']}."
        )
