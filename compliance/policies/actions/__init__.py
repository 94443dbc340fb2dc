"""The writes of regulation packs, policies and evaluation, one module each (see ``compliance.policies.services``)."""
