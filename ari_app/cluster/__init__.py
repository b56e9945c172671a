"""More than one PBX (issue 26): this `pbxcrm ari` serves one node (PBXCRM_NODE) of several Asterisks
behind a SIP proxy, and shares with the other nodes' apps, through PostgreSQL, its word that it lives
(heartbeat.py) and its phones, their holds and the round robin turns (shared.py)."""
