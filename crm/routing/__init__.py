"""Routing decisions for incoming calls: pure functions of (caller, CRM facts, policy)."""
