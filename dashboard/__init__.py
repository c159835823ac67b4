"""Streamlit dashboard over the Hive tables."""
