"""Calls placed from a user's phone: to another extension (internal) or out through the trunk."""
