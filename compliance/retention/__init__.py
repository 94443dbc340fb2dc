"""Retention enforcement and legal holds (models in ``compliance.policies``, app label ``policies``).

Rows are read and written only through :mod:`compliance.datasets` (files: ``files``; database
tables: ``tables``). Every service takes ``actor`` and needs ``decide``.
"""
