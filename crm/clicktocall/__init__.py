"""Click-to-call: a user asks to be connected to a number; the PBX rings the user first."""
