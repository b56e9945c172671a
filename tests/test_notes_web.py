"""Notes open, change and delete from the timeline and the task (B3): the author, a supervisor or an
admin changes them, every change audited; others only read; CSRF on both forms."""

import html
import json

from crm import notes
from crm.counterparties import service
from crm.counterparties.model import CounterpartyInput
from tests.helpers import csrf_from, login, make_user


async def _audit(db, entity, entity_id):
    async with db.acquire() as conn:
        return [(r["action"], json.loads(r["changes"])) for r in await conn.fetch(
            "SELECT action, changes FROM audit_log WHERE entity = $1 AND entity_id = $2 ORDER BY id", entity, entity_id)]


async def test_the_author_opens_changes_and_deletes_a_note_from_the_timeline(web, db):
    mgr = await make_user(db, "mgr", "manager")
    async with db.acquire() as conn:
        client = await service.create(conn, mgr, CounterpartyInput(kind="client", last_name="Zhukov"), "RU")
        note = await notes.add_note(conn, mgr, body="wants a quote", counterparty_id=client)
    login(web, "mgr")
    card = web.get(f"/counterparties/{client}").text
    assert f'href="/notes/{note}"' in card.split('id="timeline"')[1]
    page = web.get(f"/notes/{note}").text
    assert "wants a quote" in page and 'id="note-form"' in page and 'id="note-delete"' in page
    r = web.post(f"/notes/{note}", data={"csrf_token": csrf_from(page), "body": "wants a quote by Friday"},
                 follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/notes/{note}"
    assert "wants a quote by Friday" in web.get(f"/counterparties/{client}").text.split('id="timeline"')[1]
    # An empty text is refused on the note's page, the text kept.
    r = web.post(f"/notes/{note}", data={"csrf_token": csrf_from(page), "body": "   "})
    assert r.status_code == 400 and "a note is 1 to 10000 characters" in html.unescape(r.text)
    # Without the CSRF token nothing changes.
    assert web.post(f"/notes/{note}", data={"body": "forged"}).status_code == 403
    assert web.post(f"/notes/{note}/delete", data={}).status_code == 403
    r = web.post(f"/notes/{note}/delete", data={"csrf_token": csrf_from(page)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/counterparties/{client}"
    assert "wants a quote" not in web.get(f"/counterparties/{client}").text.split('id="timeline"')[1].split("</ul>")[0]
    assert web.get(f"/notes/{note}").status_code == 404
    assert await _audit(db, "note", note) == [
        ("create", {"counterparty_id": [None, client], "body": [None, "wants a quote"]}),
        ("update", {"body": ["wants a quote", "wants a quote by Friday"]}),
        ("delete", {"body": ["wants a quote by Friday", None]})]
    assert [a for a, _c in await _audit(db, "counterparty", client)][-2:] == ["change note", "delete note"]


async def test_others_read_a_note_a_supervisor_changes_it(web, db):
    mgr = await make_user(db, "mgr", "manager")
    await make_user(db, "op", "operator")
    boss = await make_user(db, "boss", "supervisor")
    async with db.acquire() as conn:
        client = await service.create(conn, mgr, CounterpartyInput(kind="client", last_name="Zhukov"), "RU")
        note = await notes.add_note(conn, mgr, body="pays late", counterparty_id=client)
    login(web, "op")
    page = web.get(f"/notes/{note}").text
    assert "pays late" in page and 'id="note-form"' not in page and 'id="note-delete"' not in page
    token = web.cookies["pbxcrm_csrf"]
    r = web.post(f"/notes/{note}", data={"csrf_token": token, "body": "pays on time"})
    assert r.status_code == 403 and "only the note&#39;s author" in r.text
    assert web.post(f"/notes/{note}/delete", data={"csrf_token": token}).status_code == 403
    web.post("/logout", data={"csrf_token": token})
    login(web, "boss")
    token = csrf_from(web.get(f"/notes/{note}").text)
    assert web.post(f"/notes/{note}", data={"csrf_token": token, "body": "pays on time"},
                    follow_redirects=False).status_code == 303
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT body FROM notes WHERE id = $1", note) == "pays on time"
    assert web.post("/notes/999999", data={"csrf_token": token, "body": "x"}).status_code == 404
    # The supervisor deletes the manager's note too: gone from the timeline, audited as the supervisor's.
    timeline = web.get(f"/counterparties/{client}").text.split('id="timeline"')[1].split("</ul>")[0]
    assert "pays on time" in timeline and f'href="/notes/{note}"' in timeline
    r = web.post(f"/notes/{note}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/counterparties/{client}"
    timeline = web.get(f"/counterparties/{client}").text.split('id="timeline"')[1].split("</ul>")[0]
    assert "pays on time" not in timeline and f'href="/notes/{note}"' not in timeline
    assert web.get(f"/notes/{note}").status_code == 404
    assert (await _audit(db, "note", note))[-1] == ("delete", {"body": ["pays on time", None]})
    async with db.acquire() as conn:
        assert await conn.fetch(
            "SELECT user_id FROM audit_log WHERE entity = 'note' AND entity_id = $1 AND action = 'delete'",
            note) == [(boss["id"],)]


async def test_a_note_on_a_queue_task_is_read_by_whoever_sees_the_task(web, db):
    member = await make_user(db, "member", "operator")
    await make_user(db, "outsider", "operator")
    async with db.acquire() as conn:
        queue = await conn.fetchval("SELECT id FROM queues WHERE is_default")
        await conn.execute("INSERT INTO queue_members (queue_id, user_id) VALUES ($1, $2)", queue, member["id"])
        type_id = await conn.fetchval("SELECT id FROM task_types WHERE code = 'callback'")
        task = await conn.fetchval("INSERT INTO tasks (title, type_id, queue_id) VALUES ('+79990001122', $1, $2) "
                                   "RETURNING id", type_id, queue)
        note = await notes.add_note(conn, member, body="no answer twice", task_id=task)
    login(web, "member")
    page = web.get(f"/tasks/{task}").text
    assert f'href="/notes/{note}"' in page
    assert web.get(f"/notes/{note}").status_code == 200
    web.post("/logout", data={"csrf_token": web.cookies["pbxcrm_csrf"]})
    login(web, "outsider")
    assert web.get(f"/notes/{note}").status_code == 404
    assert web.post(f"/notes/{note}/delete", data={"csrf_token": web.cookies["pbxcrm_csrf"]}).status_code == 404
