"""Simulated websites with users, the validating collector and the ground-truth ledger."""
