"""Embedded runtime: the whole platform as supervised processes on one machine."""
