"""A click-to-call from a page's Call button, through the sandbox (issues 22 and 24: an order's row, a shop
order): the user's extension 102 answers, then +74951234567 through the trunk; the user hangs up. The
call-request and the call's row must both link to what the call was made from."""

from tests.telephony import TRUNK_PORT, SippPhone, ari_delete, wait_for


async def _dialing(db):
    async with db.acquire() as conn:
        return await conn.fetchrow("SELECT * FROM call_requests WHERE status = 'dialing'")


async def _ended_call(db):
    async with db.acquire() as conn:
        return await conn.fetchrow("SELECT * FROM calls WHERE ended_at IS NOT NULL")


async def call_from_button(db, web, app, tmp_path, path: str, link: str, link_id: int):
    """POST `path` as the logged-in user; the ended call's row, whose `link` column (and its request's) is
    link_id."""
    async with SippPhone("102", "phone_answer.xml", tmp_path), \
            SippPhone("trunk", "phone_answer.xml", tmp_path, port=TRUNK_PORT) as outside:
        r = web.post(path, data={"csrf_token": web.cookies["pbxcrm_csrf"]}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].endswith("?notice=calling")
        dialing = await wait_for(lambda: _dialing(db), timeout=10)
        assert dialing is not None and dialing[link] == link_id, app.log_text()
        assert await wait_for(outside.invites, timeout=10), app.log_text()
        assert "INVITE sip:74951234567@" in outside.messages.read_text()
        assert await ari_delete(f"/channels/{dialing['channel_id']}") == 204  # the user hangs up
        call = await wait_for(lambda: _ended_call(db))
    assert call is not None, app.log_text()
    assert call[link] == link_id
    return call
