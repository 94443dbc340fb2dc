"""The services other apps import from ``compliance.policies.services`` (kept for them; issue 12).

The writes live in one module per operation, each taking ``actor`` and checking it with
``accounts.permissions.require`` (see docs/policies.md "Layout"):

* ``compliance.policies.actions.packs`` / ``.policies`` / ``.evaluate`` -- packs, rules, policies, evaluation
* ``compliance.access.decisions`` / ``.grants`` / ``.sample`` / ``.tokens`` -- access decisions, grants,
  sample reads, key rotation and token reveal
* ``compliance.anonymization.services`` -- anonymization runs
* ``compliance.retention.services`` / ``.holds`` -- retention runs and legal holds

Import from those modules; this one re-exports only what other apps already use.
"""

from compliance.access.decisions import access_decide
from compliance.access.grants import grant_approve, grant_request
from compliance.access.tokens import token_reveal
from compliance.anonymization.services import anonymization_run
from compliance.policies.actions.evaluate import evaluate_all, policy_evaluate
from compliance.policies.actions.policies import policy_create

__all__ = [
    "access_decide",
    "anonymization_run",
    "evaluate_all",
    "grant_approve",
    "grant_request",
    "policy_create",
    "policy_evaluate",
    "token_reveal",
]
