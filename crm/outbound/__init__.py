"""Outbound dialling (issue 22, H8): auto-dial campaigns, their numbers and attempts, the do-not-call list."""
