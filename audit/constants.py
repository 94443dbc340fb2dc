"""Ledger constants shared by the models and the Django-free verifier (audit/verification.py)."""

# Subtrees of 2**STORED_MIN_LEVEL leaves and larger are stored (audit.models.LedgerNode); smaller
# ones are recomputed from leaf hashes (at most 16), keeping the node table at ~1/8 of the log.
STORED_MIN_LEVEL = 4
