"""The REST API (``/api/v1/``): a door over the same workflow services and policy as the workspace."""
