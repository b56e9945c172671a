"""The web chat with site visitors (issue 23, FEATURES I3): rules, SQL, the service."""
