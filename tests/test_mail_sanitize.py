"""An e-mail's HTML made safe (crm/mail/sanitize.py): nothing that runs, nothing fetched from outside unless
asked, cid: images from the message's own attachments."""

from crm.mail.sanitize import clean_style, sanitize


def test_script_and_its_text_are_gone():
    out = sanitize("<p>Hi</p><script>alert('x')</script><SCRIPT SRC=//evil/x.js></SCRIPT>").html
    assert out == "<p>Hi</p>"


def test_event_handlers_are_dropped():
    out = sanitize('<img src="cid:a" onerror="alert(1)"><p onclick="x()" onmouseover=y()>t</p><body onload=z()>').html
    assert "on" not in out.replace("<p>t</p>", "")
    assert "alert" not in out and "x()" not in out


def test_javascript_and_data_urls_are_dropped():
    out = sanitize('<a href="javascript:alert(1)">a</a><a href=" JaVaScRiPt:alert(1)">b</a>'
                   '<a href="data:text/html,<script>x</script>">c</a><a href="vbscript:x">d</a>').html
    assert "javascript" not in out.lower() and "data:" not in out and "vbscript" not in out
    assert out.count("<a ") == 4 and "href" not in out


def test_links_open_without_opener_or_referrer():
    out = sanitize('<a href="https://shop.example/order?id=1" rel="opener">order</a>').html
    assert 'href="https://shop.example/order?id=1"' in out
    assert 'rel="noopener noreferrer"' in out and 'target="_blank"' in out and "opener\"" not in out


def test_forms_frames_objects_and_style_sheets_go():
    out = sanitize('<form action="https://evil"><input name=p><button>Go</button></form>'
                   '<iframe src="https://evil"></iframe><object data=x></object><embed src=x>'
                   '<style>body{background:url(https://evil/t.png)}</style><link rel=stylesheet href=https://evil>'
                   '<meta http-equiv=refresh content="0;url=https://evil"><base href="https://evil/">ok').html
    assert out == "ok"


def test_style_expressions_and_urls_are_dropped_layout_kept():
    out = sanitize('<p style="color: red; width: expression(alert(1)); background-image: url(https://evil/t.png);'
                   ' font-size: 14px; behavior: url(x.htc); color: rgb(1, 2, 3)">t</p>').html
    assert "expression" not in out and "url(" not in out and "behavior" not in out
    assert "color: red" in out and "font-size: 14px" in out and "rgb(1, 2, 3)" in out
    assert clean_style("width: e\\xpression(alert(1))") == ""
    assert clean_style("color: red /* */; margin: 0") == "margin: 0"


def test_remote_images_are_blocked_by_default_and_counted():
    html = ('<img src="https://tracker.example/pixel.gif" alt="p"><img src="http://cdn.example/logo.png">'
            '<img src="//cdn.example/x.png"><p>text</p>')
    cleaned = sanitize(html)
    assert cleaned.remote_images == 3
    assert "tracker" not in cleaned.html and "cdn.example" not in cleaned.html
    assert '<img alt="p">' in cleaned.html
    shown = sanitize(html, remote_images=True)
    assert shown.remote_images == 0
    assert 'src="https://tracker.example/pixel.gif"' in shown.html and 'src="http://cdn.example/logo.png"' in shown.html


def test_shown_remote_images_are_still_sanitised():
    out = sanitize('<img src="https://cdn.example/x.png" onerror="alert(1)"><script>x()</script>',
                   remote_images=True).html
    assert out == '<img src="https://cdn.example/x.png">'


def test_cid_images_point_at_the_messages_own_attachments():
    cleaned = sanitize('<img src="cid:Logo@Shop"><img src="cid:missing@x"><img src="file:///etc/passwd">'
                       '<a href="cid:logo@shop">l</a>', cid_urls={"<logo@shop>": "/mail/attachments/7?inline=1"})
    assert '<img src="/mail/attachments/7?inline=1">' in cleaned.html
    assert "missing" not in cleaned.html and "passwd" not in cleaned.html and "cid:" not in cleaned.html
    assert cleaned.remote_images == 0


def test_text_is_escaped_not_parsed_twice():
    out = sanitize("<p>&lt;script&gt;alert(1)&lt;/script&gt; Привет</p>").html
    assert out == "<p>&lt;script&gt;alert(1)&lt;/script&gt; Привет</p>"


def test_a_whole_document_keeps_its_body():
    out = sanitize("<html><head><title>T</title><style>p{}</style></head><body bgcolor=white>"
                   "<table border=0><tr><td colspan=2>cell</td></tr></table></body></html>").html
    assert "<title>" not in out and "T<" not in out
    assert '<td colspan="2">cell</td>' in out
