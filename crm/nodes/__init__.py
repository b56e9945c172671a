"""More than one PBX (issue 26): the Asterisk nodes behind the SIP proxy, one `pbxcrm ari` per node
(PBXCRM_NODE names it), all on one database.

Each node's app says in pbx_nodes (migration 0053), every HEARTBEAT_SECONDS and at each connect or
loss of its Asterisk, that it lives and whether its Asterisk answers (queries.say), and NOTIFYs
CHANNEL with its name. The web reads the rows and decides each node's state (state.py): the Nodes
page and the wallboard's banner. A centre with one PBX runs no node name and has no rows.
"""

from __future__ import annotations

HEARTBEAT_SECONDS = 5
# A node unheard for this many heartbeats is silent: its app is not running or cannot reach the database.
SILENT_AFTER_HEARTBEATS = 3
CHANNEL = "pbxcrm_nodes"
# As the table's CHECK (0053): what PBXCRM_NODE may be.
NAME_PATTERN = r"[a-z0-9][a-z0-9-]{0,31}"
