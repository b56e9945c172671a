"""The Calls page (issue 20; H1, E3, G2): every filter, several of each, search, the capped count,
the call rules on the list, its count, its player and its export, saved filters, and an export that
holds exactly what the list filters."""

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from crm import appsettings, tags
from crm.calls import listing
from crm.counterparties import service
from crm.counterparties.model import CounterpartyInput
from tests.helpers import csrf_from, log_in_as, make_user

MSK = dt.timezone(dt.timedelta(hours=3))


@pytest.fixture
async def world(db, tmp_path):
    """Seven calls over three days: Olga and Oleg answer and place them, on two lines and two queues,
    with Sokolov (tagged Gold-7 and Dormant-3), Orlova (Gold-7) and unknown callers."""
    people = {n: await make_user(db, n, role, full_name=full) for n, role, full in (
        ("anna", "admin", "Anna Admina"), ("boss", "supervisor", "Boris Bossov"),
        ("olga", "operator", "Olga Otvetova"), ("oleg", "operator", "Oleg Zvonkov"),
        ("irina", "manager", "Irina Menedzherova"))}
    async with db.acquire() as conn:
        await appsettings.set_export_roles(conn, people["anna"]["id"], ["operator", "supervisor", "admin"])
        sokolov = await service.create(conn, people["irina"], CounterpartyInput(
            kind="client", last_name="Sokolovsky", remark="pays in cash", responsible_user_id=people["irina"]["id"]),
            "RU")
        company = await service.create(conn, people["irina"], CounterpartyInput(kind="company",
                                                                                company_name="Vostok-Trade 12"), "RU")
        orlova = await service.create(conn, people["irina"], CounterpartyInput(kind="client", last_name="Orlovskaya",
                                                                               company_ids=(company,)), "RU")
        gold = await tags.save_tag(conn, people["anna"]["id"], None, tags.TagInput("Gold-7"))
        dormant = await tags.save_tag(conn, people["anna"]["id"], None, tags.TagInput("Dormant-3"))
        for cp, tag in ((sokolov, gold), (sokolov, dormant), (orlova, gold)):
            await conn.execute("INSERT INTO counterparty_tags (counterparty_id, tag_id) VALUES ($1, $2)", cp, tag)
        kestrel = await conn.fetchval("INSERT INTO queues (name) VALUES ('Kestrel wholesale') RETURNING id")
        zeta = await conn.fetchval("INSERT INTO queues (name) VALUES ('Zeta returns') RETURNING id")
        line_a = await conn.fetchval("INSERT INTO lines (name, trunk, did) VALUES ('Hotline Alpha-9', 'trunk', "
                                     "'74950001111') RETURNING id")
        line_b = await conn.fetchval("INSERT INTO lines (name, trunk, did) VALUES ('Hotline Beta-4', 'trunk', "
                                     "'74950002222') RETURNING id")
        olga, oleg = people["olga"]["id"], people["oleg"]["id"]
        rows = [  # key, local start, direction, status, far number, operator, placed by, queue, line, cp, comment
            ("in1", "2026-11-02 10:00", "incoming", "answered", "+74951230001", olga, None, kestrel, line_a, sokolov,
             "wants a discount on pallets"),
            ("in2", "2026-11-02 11:00", "incoming", "missed", "+74951230002", None, None, zeta, line_b, None, ""),
            ("out1", "2026-11-03 09:00", "outgoing", "answered", "+74951230001", None, olga, None, line_a, sokolov, ""),
            ("out2", "2026-11-03 12:00", "outgoing", "busy", "+74951230003", None, oleg, None, line_b, orlova, ""),
            ("int1", "2026-11-03 15:00", "internal", "answered", "102", oleg, olga, None, None, None, ""),
            ("in3", "2026-11-04 08:30", "incoming", "answered", "+74951230003", oleg, None, kestrel, line_b, orlova,
             "asked about the invoice"),
            ("old", "2026-07-01 10:00", "incoming", "answered", "+74951239999", olga, None, None, line_a, None, ""),
        ]
        calls = {}
        for key, at, direction, status, number, operator, caller, queue, line, cp, comment in rows:
            started = dt.datetime.fromisoformat(at).replace(tzinfo=MSK)
            answered = started + dt.timedelta(seconds=7) if status == "answered" else None
            outgoing = direction == "outgoing"
            calls[key] = await conn.fetchval(
                """INSERT INTO calls (channel_id, direction, caller_number, caller_normalized, called_number,
                                      called_normalized, started_at, answered_at, ended_at, status, operator_user_id,
                                      caller_user_id, queue_id, line_id, counterparty_id, comment, owner_user_id)
                   VALUES ($1, $2, $3, $3, $4, $4, $5::timestamptz, $6, $5::timestamptz + interval '70 seconds', $7, $8,
                           $9, $10, $11, $12, $13, $14)
                   RETURNING id""",
                f"list.{key}", direction, "101" if outgoing or direction == "internal" else number,
                number if outgoing or direction == "internal" else "100", started, answered, status, operator, caller,
                queue, line, cp, comment, people["irina"]["id"] if cp == sokolov else None)
        audio = tmp_path / "call.mp3"
        audio.write_bytes(b"ID3" + bytes(500))
        recording = await conn.fetchval(
            "INSERT INTO recordings (call_id, path, format) VALUES ($1, $2, 'mp3') RETURNING id", calls["in1"], str(audio))
    return {**people, "calls": calls, "sokolov": sokolov, "company": company, "orlova": orlova, "gold": gold, "dormant": dormant,
            "kestrel": kestrel, "zeta": zeta, "line_a": line_a, "line_b": line_b, "recording": recording}


def _keys(web, world, params=None) -> list[str]:
    """The listed calls' keys, newest first (the JSON of /api/calls)."""
    r = web.get("/api/calls", params=params or {})
    assert r.status_code == 200, r.text
    by_id = {v: k for k, v in world["calls"].items()}
    data = r.json()
    assert data["total"] == len(data["calls"]) and data["total_capped"] is False
    return [by_id[c["id"]] for c in data["calls"]]


async def test_each_filter_alone_and_several_of_each(web, world):
    log_in_as(web, "boss")
    w = world
    assert _keys(web, w) == ["in3", "int1", "out2", "out1", "in2", "in1", "old"]
    assert _keys(web, w, {"from": "2026-11-03", "to": "2026-11-03"}) == ["int1", "out2", "out1"]
    assert _keys(web, w, {"from": "2026-11-04"}) == ["in3"]
    assert _keys(web, w, {"to": "2026-11-01"}) == ["old"]
    # The period is the call centre's days (Moscow): 08:30 there is the 4th, 05:30 UTC.
    assert _keys(web, w, {"from": "2026-11-04", "to": "2026-11-04"}) == ["in3"]
    assert _keys(web, w, {"direction": "outgoing"}) == ["out2", "out1"]
    assert _keys(web, w, {"direction": ["outgoing", "internal"]}) == ["int1", "out2", "out1"]
    assert _keys(web, w, {"status": "missed"}) == ["in2"]
    assert _keys(web, w, {"status": ["missed", "busy"]}) == ["out2", "in2"]
    # The operator: who answered, else whose phone placed the call.
    assert _keys(web, w, {"operator": w["olga"]["id"]}) == ["out1", "in1", "old"]
    assert _keys(web, w, {"operator": [w["olga"]["id"], w["oleg"]["id"]]}) == ["in3", "int1", "out2", "out1", "in1",
                                                                             "old"]
    assert _keys(web, w, {"queue": w["zeta"]}) == ["in2"]
    assert _keys(web, w, {"queue": [w["kestrel"], w["zeta"]]}) == ["in3", "in2", "in1"]
    assert _keys(web, w, {"line": w["line_b"]}) == ["in3", "out2", "in2"]
    assert _keys(web, w, {"line": [w["line_a"], w["line_b"]]}) == ["in3", "out2", "out1", "in2", "in1", "old"]
    # Either end's number, however it is written.
    assert _keys(web, w, {"number": "8 (495) 123-00-03"}) == ["in3", "out2"]
    assert _keys(web, w, {"number": "102"}) == ["int1"]
    assert _keys(web, w, {"counterparty": w["sokolov"]}) == ["out1", "in1"]
    # A company's calls are its clients' too, as on its card.
    assert _keys(web, w, {"counterparty": w["company"]}) == ["in3", "out2"]
    # Tags of the call's counterparty: all of the wanted ones, none of the excluded.
    assert _keys(web, w, {"tag": w["gold"]}) == ["in3", "out2", "out1", "in1"]
    assert _keys(web, w, {"tag": [w["gold"], w["dormant"]]}) == ["out1", "in1"]
    assert _keys(web, w, {"notag": w["dormant"]}) == ["in3", "int1", "out2", "in2", "old"]
    assert _keys(web, w, {"notag": [w["dormant"], w["gold"]]}) == ["int1", "in2", "old"]
    assert _keys(web, w, {"tag": w["gold"], "notag": w["dormant"]}) == ["in3", "out2"]
    # Search: a counterparty's name, a comment, part of a number.
    assert _keys(web, w, {"q": "sokolovs"}) == ["out1", "in1"]
    assert _keys(web, w, {"q": "PALLETS"}) == ["in1"]
    assert _keys(web, w, {"q": "123-99"}) == ["old"]
    # Together: every condition holds.
    assert _keys(web, w, {"direction": "incoming", "status": "answered", "line": w["line_a"],
                          "from": "2026-11-01"}) == ["in1"]
    # Unknown codes are no condition; a period ending before it starts is refused.
    assert _keys(web, w, {"direction": "sideways"}) == _keys(web, w)
    assert web.get("/api/calls", params={"from": "2026-11-04", "to": "2026-11-01"}).status_code == 400


async def test_the_page_shows_filters_links_click_to_call_and_the_filtered_rows(web, world):
    log_in_as(web, "boss")
    page = web.get("/calls", params={"direction": "incoming", "queue": world["kestrel"]}).text
    assert "2 calls" in page
    assert f'href="/calls/{world["calls"]["in1"]}"' in page and f'href="/calls/{world["calls"]["in3"]}"' in page
    assert f'href="/calls/{world["calls"]["out1"]}"' not in page
    assert '<button type="button" class="call" data-call="+74951230001"' in page
    assert 'value="incoming" checked' in page and f'value="{world["kestrel"]}" selected' in page
    assert "pays in cash" in page, "the counterparty's remark beside its name"
    assert f'id="export" href="/calls.xlsx?direction=incoming&amp;queue={world["kestrel"]}"' in page
    call_page = web.get(f"/calls/{world['calls']['in1']}").text
    assert f'id="counterparty-calls" href="/calls?counterparty={world["sokolov"]}"' in call_page
    card_calls = web.get("/calls", params={"counterparty": world["sokolov"]}).text
    picker = card_calls.split('id="filter-counterparty"')[1].split("</fieldset>")[0]
    assert f'name="counterparty" value="{world["sokolov"]}"' in picker and "Sokolovsky" in picker


async def test_the_count_is_capped_as_the_other_lists(web, world, monkeypatch):
    monkeypatch.setattr(listing, "COUNT_CAP", 3)
    log_in_as(web, "boss")
    data = web.get("/api/calls", params={"size": 2}).json()
    assert (data["total"], data["total_capped"], len(data["calls"])) == (3, True, 2)
    assert "3 calls+" in web.get("/calls", params={"size": 2}).text
    data = web.get("/api/calls", params={"direction": "outgoing"}).json()
    assert (data["total"], data["total_capped"]) == (2, False)


def _exported(web, params=None) -> list[tuple]:
    r = web.get("/calls.xlsx", params=params or {})
    assert r.status_code == 200, r.text
    sheet = load_workbook(io.BytesIO(r.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("Started", "Direction", "Caller", "Called")
    return [(r[2], r[3]) for r in rows[1:]]


def _listed_numbers(web, params=None) -> list[tuple]:
    return [(c["caller_number"], c["called_number"])
            for c in web.get("/api/calls", params={**(params or {}), "size": 500}).json()["calls"]]


async def test_the_export_holds_exactly_what_the_list_filters(web, world, db):
    log_in_as(web, "boss")
    for params in ({}, {"direction": ["incoming", "internal"]}, {"tag": world["gold"], "notag": world["dormant"]},
                   {"operator": world["olga"]["id"], "q": "7495"}, {"from": "2026-11-03", "to": "2026-11-03"},
                   {"status": "busy", "direction": "incoming"}):
        assert _exported(web, params) == _listed_numbers(web, params), params
    # Not a fixed 30 days: the July call is there when nothing limits the period.
    assert ("+74951239999", "100") in _exported(web)
    async with db.acquire() as conn:
        audits = [r["changes"] for r in await conn.fetch(
            "SELECT changes FROM audit_log WHERE entity = 'export' AND action = 'call list'")]
    assert any("direction=incoming&direction=internal" in a for a in audits), audits


async def test_the_call_rules_hold_on_the_list_its_count_its_player_and_its_export(web, world):
    w = world
    # Default rules: operators see every call on a live card; they hear the calls they took part in.
    log_in_as(web, "olga")
    assert len(_keys(web, w)) == 7
    page = web.get("/calls").text
    assert f'data-recording="{w["recording"]}"' in page and 'preload="none"' in page
    recordings = {c["id"]: c["recording_id"] for c in web.get("/api/calls").json()["calls"]}
    assert recordings[w["calls"]["in1"]] == w["recording"]
    log_in_as(web, "oleg")
    assert f'data-recording="{w["recording"]}"' not in web.get("/calls").text, "he took no part: no player"
    recordings = {c["id"]: c["recording_id"] for c in web.get("/api/calls").json()["calls"]}
    assert recordings[w["calls"]["in1"]] is None
    log_in_as(web, "irina")
    assert f'data-recording="{w["recording"]}"' in web.get("/calls").text, "her client's call"

    # The admin hides outgoing calls from operators who did not take part.
    log_in_as(web, "anna")
    page = web.get("/admin/call-rules")
    r = web.post("/admin/call-rules", data={
        "csrf_token": csrf_from(page.text), "position": "5", "action": "see", "effect": "deny",
        "roles": ["operator"], "took_part": "no", "directions": ["outgoing"], "note": "callers' own"},
        follow_redirects=False)
    assert r.status_code == 303, r.text
    log_in_as(web, "oleg")
    assert _keys(web, w) == ["in3", "int1", "out2", "in2", "in1", "old"], "Olga's outgoing call is gone"
    assert _keys(web, w, {"direction": "outgoing"}) == ["out2"]
    assert web.get("/api/calls", params={"number": "+74951230001"}).json()["total"] == 1
    assert _exported(web, {"direction": "outgoing"}) == [("101", "+74951230003")]
    assert len(_exported(web)) == 6
    log_in_as(web, "boss")
    assert len(_keys(web, w)) == 7, "supervisors see every call still"


async def test_only_the_export_roles_export(web, world, db):
    async with db.acquire() as conn:
        await appsettings.set_export_roles(conn, world["anna"]["id"], ["supervisor", "admin"])
    log_in_as(web, "olga")
    assert web.get("/calls.xlsx").status_code == 403
    assert 'id="export"' not in web.get("/calls").text


async def test_a_saved_call_filter_round_trip(web, world, db):
    log_in_as(web, "olga")
    query = f"direction=incoming&line={world['line_b']}&page=2"
    page = web.get("/calls?" + query)
    r = web.post("/filters", data={"csrf_token": csrf_from(page.text), "section": "calls", "name": "Beta incoming",
                                   "query": query}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/calls?direction=incoming&line={world['line_b']}"
    listing_page = web.get("/calls").text
    assert f'href="/calls?direction=incoming&amp;line={world["line_b"]}">Beta incoming</a>' in listing_page
    assert _keys(web, world, {"direction": "incoming", "line": world["line_b"]}) == ["in3", "in2"]
    async with db.acquire() as conn:
        filter_id = await conn.fetchval("SELECT id FROM saved_filters WHERE section = 'calls'")
    log_in_as(web, "oleg")
    page = web.get("/calls")
    assert "Beta incoming" not in page.text
    assert web.post(f"/filters/{filter_id}/delete", data={"csrf_token": csrf_from(page.text)},
                    follow_redirects=False).status_code == 404
    log_in_as(web, "olga")
    page = web.get("/calls")
    r = web.post(f"/filters/{filter_id}/delete", data={"csrf_token": csrf_from(page.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/calls"
    assert "Beta incoming" not in web.get("/calls").text
