"""The settings the dialplan reads when the app cannot take a call (dialplan/pbxcrm.conf): the
default queue's phones and ring time, the call centre's language, users' dial strings.

They are kept in AstDB (family pbxcrm), which Asterisk keeps on disk: an Asterisk restarted
while the app is down still rings the default queue's phones. Globals would be empty then,
and the caller answered into a queue with nobody in it. ARI may not write DB() itself (a
"dangerous" function from outside: live_dangerously), so each value goes through the
dialplan: a Local channel into [pbxcrm-store], which sets DB(pbxcrm/<key>) and hangs up.
Asterisk needs func_db (asterisk-conf/modules.conf) and our dialplan included.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref

from ari_app.client import AriClient, AriError, AriNotFound
from ari_app.constants import STORE_PREFIX

log = logging.getLogger(__name__)

STORE_CONTEXT = "pbxcrm-store"


class DialplanStore:
    """One per ARI client (`of`): values are written one at a time, each done before the next, so a
    later value of a key is never overwritten by an earlier one."""

    _stores: "weakref.WeakKeyDictionary[AriClient, DialplanStore]" = weakref.WeakKeyDictionary()

    def __init__(self, ari: AriClient):
        self._ari = ari
        self._lock = asyncio.Lock()

    @classmethod
    def of(cls, ari: AriClient) -> "DialplanStore":
        if ari not in cls._stores:
            cls._stores[ari] = cls(ari)
        return cls._stores[ari]

    async def put(self, key: str, value: str) -> None:
        """DB(pbxcrm/<key>) = value; raises AriError when Asterisk cannot be asked."""
        async with self._lock:
            # Our id: the call log from CEL knows the channel for the app's and logs no call of it.
            channel = await self._ari.originate_to_dialplan(
                endpoint=f"Local/s@{STORE_CONTEXT}", channel_id=f"{STORE_PREFIX}{uuid.uuid4().hex[:16]}",
                context=STORE_CONTEXT, extension="s", variables={"PBXCRM_KEY": key, "PBXCRM_VALUE": value},
                timeout=5)
            # The value is set once the channel has run [pbxcrm-store] and hung up (milliseconds).
            for _ in range(40):
                try:
                    await self._ari.get_channel(channel["id"])
                except AriNotFound:
                    return
                except AriError:
                    break
                await asyncio.sleep(0.05)
            log.warning("dialplan setting %s: the store channel %s did not finish; is [%s] in the dialplan?",
                        key, channel["id"], STORE_CONTEXT)
