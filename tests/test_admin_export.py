"""Tags, queues and users to Excel (K2, issue 20): admins in the export roles only, audited, no secrets."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from crm import appsettings
from crm.tags import TagInput, save_tag
from tests.helpers import login, make_user


def _cells(content: bytes) -> list:
    return [c.value for row in load_workbook(io.BytesIO(content)).active.iter_rows() for c in row]


@pytest.mark.parametrize(("path", "expected"), [("/admin/tags.xlsx", "Wholesale"),
                                                ("/admin/queues.xlsx", "Irina Ivanova"),
                                                ("/admin/users.xlsx", "ivanova")])
async def test_admin_lists_export_for_admins_in_the_export_roles(db, web, path, expected):
    admin = await make_user(db, "adm", "admin")
    await make_user(db, "ivanova", "manager", full_name="Irina Ivanova", extension="102")
    async with db.acquire() as conn:
        await save_tag(conn, admin["id"], None, TagInput("Wholesale", allowed_roles=("manager",)))
        await conn.execute("INSERT INTO queue_members (queue_id, user_id) SELECT id, (SELECT id FROM users "
                           "WHERE login = 'ivanova') FROM queues WHERE is_default")
    login(web, "adm")
    page = web.get(path.removesuffix(".xlsx")).text
    assert f'href="{path}"' in page
    r = web.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    cells = _cells(r.content)
    assert expected in cells
    if path == "/admin/users.xlsx":
        assert not any(isinstance(c, str) and c.startswith("$argon2") for c in cells)
        assert "manager" in cells and "Login" in cells
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE entity = 'export'") == 1

    # A manager is never let in, even in the export roles (the admin always is: crm/appsettings.py).
    async with db.acquire() as conn:
        await appsettings.set_export_roles(conn, admin["id"], ["admin", "manager"])
    web.cookies.clear()
    login(web, "ivanova")
    assert web.get(path).status_code == 403
