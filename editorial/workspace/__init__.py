"""The board's workspace: the Django admin site, its model admins, dashboards and tools.

A door: every write calls ``editorial.workflow``; every "may this user" asks its permissions.
"""
