"""Signals other apps (lineage propagation, policy re-evaluation) subscribe to.

Sent by catalog services *after the transaction commits* (``transaction.on_commit``), with ids
only; receivers load what they need and run their own audited services.
"""

from django.dispatch import Signal

# kwargs: classification_id, column_id, entity_type, source, state, change ("created", "refreshed",
# "confirmed", "rejected", "withdrawn", "updated")
classification_changed = Signal()
# One signal for a bulk write (catalog.bulk): kwargs ``changes``, a tuple of dicts with the keys of
# ``classification_changed`` plus ``asset_id``; ``asset_ids``, the sorted distinct assets touched.
# Receivers handle the batch at once (e.g. one policy evaluation per asset, not one per column).
classifications_changed = Signal()
# kwargs: model_version_id, change ("registered", "updated", "deleted")
model_version_changed = Signal()
# kwargs: asset_id, change ("registered", "updated", "deleted")
asset_changed = Signal()
