"""Reads shared by the doors: what readers see, the worklists, rounds and history compared.

Plain functions over querysets; no writes. Used by ``public``, ``workspace`` and ``api``.
"""
