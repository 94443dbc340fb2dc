"""Access to data: decisions (``rules`` + ``decisions``), grants, sample reads, masking and token reveal.

Plain modules inside the ``compliance`` app (the models stay in ``compliance.policies``; app label
``policies``). Every service takes ``actor`` and checks it with ``accounts.permissions.require``.
"""
