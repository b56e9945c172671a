"""Tasks and deals."""
