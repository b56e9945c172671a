"""The PBX nodes of a centre with more than one Asterisk (issue 26)."""
