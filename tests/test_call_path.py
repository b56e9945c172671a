"""The minimal call path, for real: sipp -> sandbox Asterisk -> Stasis app -> PostgreSQL."""

import pytest

from tests.helpers import finished_call
from tests.telephony import ari_get, sipp_call, wait_for


@pytest.fixture
async def stasis_app(db, start_stasis_app):
    return await start_stasis_app()


async def test_a_real_sip_call_writes_a_call_row(stasis_app, db):
    result = await sipp_call(caller="84951234567", called="74957654321", caller_name="Ivan Petrov",
                             talk_ms=1500)
    assert result.returncode == 0, result.output

    row = await wait_for(lambda: finished_call(db, "84951234567"))
    assert row is not None, stasis_app.log_text()
    assert row["direction"] == "incoming"
    assert row["caller_normalized"] == "+74951234567"
    assert row["caller_name"] == "Ivan Petrov"
    assert row["called_number"] == "74957654321"
    assert row["line"] == "PJSIP/trunk"
    assert row["channel_id"]
    # The caller talked to the default queue's music for about 1.5 s, then hung up.
    assert 1.0 <= (row["ended_at"] - row["started_at"]).total_seconds() < 10
    assert row["status"] == "missed"  # nobody in the default queue answered

    # The channel the row names was a real one, and it is gone: nothing is left in Asterisk.
    status, channels = await ari_get("/channels")
    assert status == 200 and all(c["id"] != row["channel_id"] for c in channels)


async def test_calls_from_different_numbers_get_their_own_rows(stasis_app, db):
    for caller in ("+74991112233", "89161234567"):
        result = await sipp_call(caller=caller, called="74957654321", talk_ms=300)
        assert result.returncode == 0, result.output + stasis_app.log_text()

    async def both_ended():
        async with db.acquire() as conn:
            rows = await conn.fetch("SELECT caller_normalized FROM calls WHERE ended_at IS NOT NULL ORDER BY id")
        return rows if len(rows) >= 2 else None

    rows = await wait_for(both_ended)
    assert rows is not None, stasis_app.log_text()
    assert [r["caller_normalized"] for r in rows] == ["+74991112233", "+79161234567"], stasis_app.log_text()


async def test_asterisk_sends_the_app_only_the_events_it_handles(stasis_app):
    """The event filter and the device state subscription are set at every (re)connect."""
    async def application():
        status, app = await ari_get("/applications/pbxcrm")
        return app if status == 200 and app.get("events_allowed") else None
    app = await wait_for(application, timeout=10)
    assert app is not None, stasis_app.log_text()
    # ApplicationReplaced: another process took the app name (ari_app/standby.py); TextMessageReceived:
    # a GSM gateway's SIP MESSAGE (ari_app/sms/, issue 21).
    assert sorted(e["type"] for e in app["events_allowed"]) == [
        "ApplicationReplaced", "ChannelDestroyed", "ChannelDtmfReceived", "ChannelTransfer", "DeviceStateChanged",
        "PlaybackFinished", "RecordingFailed", "RecordingFinished", "StasisEnd", "StasisStart", "TextMessageReceived"]
    # Subscribed to every device's state ("deviceState:"), which Asterisk lists under this name.
    assert app["device_names"] == ["__AST_DEVICE_STATE_ALL_TOPIC"], app
