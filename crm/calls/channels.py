"""The ids the Stasis app gives the channels it makes (ari_app/constants.py builds them from these):
the call log from CEL (crm/cel/) knows them by these prefixes and leaves their calls to the app."""

# Every channel (a phone rung for a call), bridge and recording the app makes starts with this.
OUR_PREFIX = "pbxcrm-"
# A click-to-call request's channel to the user's phone: c2c-<request id>.
CLICK_TO_CALL_PREFIX = "c2c-"
# A supervisor's phone rung to listen in, whisper or barge (sup-<request id>), its snoop on the
# operator's channel (sup-<request id>-snoop) and its bridge: the supervision's, never a call of its own.
SUPERVISION_PREFIX = "sup-"
# A campaign's call to a client (dial-<attempt id>) and the agent's phone rung for it (dial-<attempt id>-agent):
# the dialer logs the attempt and, answered, the call (issue 22).
CAMPAIGN_PREFIX = "dial-"
APP_CHANNEL_PREFIXES = (OUR_PREFIX, CLICK_TO_CALL_PREFIX, SUPERVISION_PREFIX, CAMPAIGN_PREFIX)

# More than one PBX (issue 26): the dialplan context a node's inter-node trunk puts a call from another
# node into (dialplan/pbxcrm.conf), to ring a phone of this node for that node's call. The node the call
# came in on logs it; the CEL of this leg, on this node, is nothing to log.
FROM_NODE_CONTEXT = "pbxcrm-from-node"
# A node's Asterisk has systemname node-<name> (scripts/cluster.sh): its uniqueids and linkedids are
# node-<name>-<epoch>.<n>, unique across the nodes, and say which node a CEL row's call came in on.
NODE_SYSTEMNAME_PREFIX = "node-"


def node_of(uniqueid: str) -> str | None:
    """The node whose Asterisk named this channel (node-b-1733000000.12 -> b), None for a PBX without one."""
    if not uniqueid.startswith(NODE_SYSTEMNAME_PREFIX):
        return None
    name, dash, rest = uniqueid[len(NODE_SYSTEMNAME_PREFIX):].rpartition("-")
    return name if dash and name and rest[:1].isdigit() else None
