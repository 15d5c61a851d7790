"""Shared domain logic and data access for every chat function."""
