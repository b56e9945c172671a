"""Greetings (issue 15, FEATURES.md L3): what a caller hears before a line's route or as an IVR
menu's prompt - an uploaded recording, converted to what Asterisk plays, or a built-in
Asterisk prompt in the call's language."""
