"""Voicemails (issue 15): what a caller nobody answered left, who is offered what, who may play it."""
