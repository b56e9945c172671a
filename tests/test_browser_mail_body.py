"""An e-mail's HTML body in Chromium (issue 23): shown in its sandboxed frame, its cid: image from the
message's own attachment, no remote image fetched until asked, then fetched, links opening apart; no
script runs and the page breaks no CSP rule."""

import struct
import zlib

from crm.counterparties import service
from crm.counterparties.model import ContactInput, CounterpartyInput
from tests.browser import logged_in_page
from tests.helpers import PASSWORD, make_user
from tests.mail_support import add_mailbox, incoming


def png_1x1() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


HTML = ('<p>Здравствуйте, вот ваш счёт!</p><img src="cid:logo@shop" alt="logo">'
        '<img src="https://tracker.invalid/p.png" alt="pixel">'
        '<script>document.title = "pwned"</script><img src="cid:nothing" onerror="document.title=\'pwned\'">'
        '<a href="https://shop.invalid/o/15">заказ</a>')


async def test_the_body_shows_sanitised_in_its_frame_and_remote_images_only_when_asked(db, web_server, chromium):
    mgr = await make_user(db, "mgr", "manager")
    async with db.acquire() as conn:
        client = await service.create(conn, mgr, CounterpartyInput(
            kind="client", last_name="Петров", contacts=(ContactInput("email", "ivan@mail.ru"),)), "RU")
        box = await add_mailbox(conn)
        message = await incoming(conn, mailbox_id=box, from_address="ivan@mail.ru", subject="Счёт", cards=(client,),
                                 body_html=HTML, attachments=(("logo.png", "image/png", png_1x1(), "logo@shop"),))
    page = await logged_in_page(chromium, web_server.url, "mgr", PASSWORD)
    remote: list[str] = []
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)

    async def tracker(route):
        remote.append(route.request.url)
        await route.fulfill(status=200, content_type="image/png", body=png_1x1())

    await page.context.route("https://tracker.invalid/**", tracker)
    await page.goto(f"{web_server.url}/mail/{message}")
    body = page.frame_locator("#mail-body")
    assert await body.locator("p").inner_text() == "Здравствуйте, вот ваш счёт!"  # (ids are not kept)
    logo = body.locator("img[alt=logo]")
    await logo.wait_for()
    assert await logo.evaluate("img => img.complete && img.naturalWidth") == 1  # the cid: part, served inline
    assert await body.locator("img[alt=pixel]").get_attribute("src") is None
    link = body.locator("a")
    assert await link.get_attribute("target") == "_blank"
    assert await link.get_attribute("rel") == "noopener noreferrer"
    assert await body.locator("script").count() == 0
    frame_height = await page.eval_on_selector("#mail-body", "f => f.getBoundingClientRect().height")
    assert frame_height > 60  # mail.js sized it to the body
    assert await page.title() != "pwned" and remote == []

    await page.click("#mail-show-remote")
    await page.wait_for_url(f"{web_server.url}/mail/{message}?remote=1")
    pixel = page.frame_locator("#mail-body").locator("img[alt=pixel]")
    await pixel.wait_for()
    assert await pixel.evaluate("img => new Promise(r => img.complete ? r(img.naturalWidth) : img.onload = () => r(img.naturalWidth))") == 1
    assert remote == ["https://tracker.invalid/p.png"]
    assert await page.title() != "pwned"
    assert violations == []
