"""Offline detection signals beyond Presidio's recognizers (issue 13).

* :mod:`.names` -- people's names: a census-derived first/last-name gazetteer, context words, and the
  row's own identifier values found in its free text;
* :mod:`.places` -- the shape of place names (``Port Aldenville``, ``East Marisa``, ``Jenniferville``);
* :mod:`.special` -- GDPR Art. 9 special categories suggested from column names and values.

Every signal reports the name of the recognizer that fired, so a finding says which signal decided it.
"""
