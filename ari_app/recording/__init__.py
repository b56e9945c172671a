"""Recording conversations by policy: the bridge is recorded, converted to mp3 off the call path."""
