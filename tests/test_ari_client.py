"""The ARI client turns a garbled answer into AriUnavailable, which callers retry or report."""

import asyncio

import pytest

from ari_app.client import AriClient, AriUnavailable


async def test_an_answer_without_a_status_line_is_ari_unavailable():
    # What Asterisk 22 once sent for GET /recordings/stored/{name}/file under load: the WAV, bare.
    async def garbled(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"RIFF\x00\x00\x00\x00WAVEfmt " + b"\x00" * 64)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(garbled, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with AriClient(f"http://127.0.0.1:{port}", "u", "p", "pbxcrm") as ari:
            with pytest.raises(AriUnavailable, match="malformed answer"):
                await ari.request("GET", "/recordings/stored/x/file")
    finally:
        server.close()
