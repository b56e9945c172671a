"""The live wallboard in Chromium with real sipp calls (issue 18, "Done when"): a waiting caller shows
within a second of the caller's INVITE and goes within a second of the agent's answer; the counts shown
match the call log. The supervisor's browser keeps, for every board the server pushes, when it came."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from tests.browser import logged_in_page
from tests.helpers import PASSWORD, make_user, routing_crm
from tests.telephony import SippPhone, first_invite_time, sipp_call, wait_for

CALLED = "74957654321"
# Every board the server pushed: when it arrived (ms since the epoch) and the waiting callers' numbers.
RECORD = """
document.getElementById("wallboard").addEventListener("wallboard:update", () => {
  const rows = [...document.querySelectorAll("#wallboard .waiting-caller td:first-child")];
  window.wbBoards.push({at: Date.now(), waiting: rows.map((td) => td.textContent.trim())});
});
"""


def first_answer_time(message_file: Path) -> float | None:
    """When the phone sent its 200 OK to the first INVITE (epoch seconds), from its sipp trace. Only an
    INVITE's 200 OK: a BYE for an earlier test's call still up in Asterisk is answered 200 OK too."""
    blocks = re.split(r"^-+ (\d{4}-\d\d-\d\d\s+\d\d:\d\d:\d\d\.\d+)\n", message_file.read_text(errors="replace"),
                      flags=re.M)
    for stamp, block in zip(blocks[1::2], blocks[2::2]):
        if ("message sent" in block and re.search(r"^SIP/2.0 200 OK", block, re.M)
                and re.search(r"^CSeq:\s*\d+ INVITE", block, re.M)):
            return dt.datetime.strptime(" ".join(stamp.split()), "%Y-%m-%d %H:%M:%S.%f").timestamp()
    return None


async def _boards(page) -> list[dict]:
    return await page.evaluate("window.wbBoards")


async def _tile_numbers(page, queue_id: int) -> dict[str, str]:
    tile = f'#wallboard [data-queue="{queue_id}"]'
    return {k: (await page.inner_text(f"{tile} .{k}")).strip() for k in ("offered", "answered", "abandoned")}


async def test_a_chromium_wallboard_shows_a_waiting_caller_within_a_second_and_drops_it_on_answer(
        db, web_server, chromium, start_stasis_app, tmp_path):
    crm = await routing_crm(db)
    await make_user(db, "sue", "supervisor", full_name="Sue Supervisor")
    app = await start_stasis_app()
    page = await logged_in_page(chromium, web_server.url, "sue", PASSWORD)
    await page.goto(web_server.url + "/wallboard")
    await page.wait_for_selector("#wallboard-status:not(.wb-offline) .wb-connection:text('live')")
    await page.evaluate("window.wbBoards = []")
    await page.evaluate(RECORD)

    # An unknown caller waits in the default queue (it hears music from the start: its 8 s of talk count
    # from then); Petrov's phone (103) rings 3 s, then answers.
    caller_trace = tmp_path / "caller-messages.log"
    async with SippPhone("103", "phone_answer_late.xml", tmp_path, args=("-d", "3000")) as phone:
        result = await sipp_call(caller="89031112233", called=CALLED, talk_ms=8000, timeout=30,
                                 message_file=caller_trace)
        assert result.returncode == 0, result.output + app.log_text()
    invite, answer = first_invite_time(caller_trace), first_answer_time(phone.messages)
    assert invite and answer, "both sipp traces have their times"
    boards = await _boards(page)
    shown = next((b["at"] / 1000 for b in boards if "89031112233" in b["waiting"]), None)
    assert shown is not None, f"the waiting caller never showed: {boards}\n{app.log_text()}"
    assert shown - invite < 1.0, f"the caller showed {shown - invite:.3f} s after the INVITE"
    gone = next((b["at"] / 1000 for b in boards if b["at"] / 1000 > shown and "89031112233" not in b["waiting"]),
                None)
    async with db.acquire() as conn:
        call = await conn.fetchrow("SELECT status, operator_user_id FROM calls WHERE caller_number = '89031112233'")
    assert call["status"] == "answered" and call["operator_user_id"] == crm["petrov"]["id"], app.log_text()
    assert gone is not None and gone - answer < 1.0, (
        f"the caller left the board {gone and gone - answer} s after the phone answered ({answer}): {boards}")
    assert answer - shown > 2, "the caller was on the board while the phone rang"

    # A second caller nobody takes (no phone runs): it waits, then hangs up in the queue: abandoned.
    result = await sipp_call(caller="89032223344", called=CALLED, talk_ms=2500, timeout=30)
    assert result.returncode == 0, result.output + app.log_text()
    async with db.acquire() as conn:
        async def ended():
            return await conn.fetchval("SELECT count(*) = 2 FROM calls WHERE ended_at IS NOT NULL")
        assert await wait_for(ended), app.log_text()
        log = await conn.fetchrow(
            """SELECT count(*) AS offered, count(*) FILTER (WHERE status = 'answered') AS answered,
                      count(*) FILTER (WHERE status IN ('missed', 'busy', 'failed')) AS abandoned
               FROM calls WHERE queue_id = $1 AND status <> 'ringing'""", crm["queue"])
    assert dict(log) == {"offered": 2, "answered": 1, "abandoned": 1}, "the scripted calls, in the call log"
    want = {k: str(v) for k, v in dict(log).items()}

    async def matches():
        return await _tile_numbers(page, crm["queue"]) == want
    assert await wait_for(matches, timeout=3), await _tile_numbers(page, crm["queue"])
    assert any("89032223344" in b["waiting"] for b in await _boards(page)), "the second caller waited on the board"
    assert await page.locator("#wallboard .waiting-caller").count() == 0

    # A reload rebuilds the same board from the database.
    await page.reload()
    assert await _tile_numbers(page, crm["queue"]) == want
    petrov = page.locator(f'#wallboard-agents [data-agent="{crm["petrov"]["id"]}"] .calls-today')
    assert (await petrov.inner_text()).strip() == "1"
