"""The FastAGI lookup server: its protocol in-process, and a real call through the example context."""

import asyncio
import os

import pytest

from agi.server import AgiServer, quote
from crm.routing.view import CrmView
from tests.helpers import ivanova_and_her_client
from tests.processes import PbxcrmProcess
from tests.telephony import SippPhone, sipp_call

ENV = ("agi_network: yes\nagi_network_script: lookup\nagi_request: agi://127.0.0.1:4573/lookup\n"
       "agi_channel: PJSIP/trunk-00000001\nagi_callerid: {number}\nagi_extension: 79991234567\n\n")


@pytest.fixture
async def client_of_ivanova(db):
    _, client = await ivanova_and_her_client(db)
    return client


@pytest.fixture
async def agi_port(db):
    crm = CrmView(db, 300)
    await crm.refresh()
    server = await asyncio.start_server(AgiServer(crm, "RU").handle, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()


async def _converse(port, env, answers):
    """Play Asterisk: send the environment, answer each command; return the commands received."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(env.encode())
    commands = []
    for answer in answers:
        line = await asyncio.wait_for(reader.readline(), 2)
        if not line:
            break
        commands.append(line.decode().strip())
        writer.write(answer.encode())
    rest = await asyncio.wait_for(reader.read(), 2)
    writer.close()
    return commands, rest


async def test_lookup_sets_the_crm_variables_for_a_known_caller(client_of_ivanova, agi_port):
    commands, rest = await _converse(agi_port, ENV.format(number="84951234567"), ["200 result=1\n"] * 6)
    assert commands == [
        'SET VARIABLE "CRM_NAME" "Sokolov Ivan"',
        f'SET VARIABLE "CRM_COUNTERPARTY_ID" "{client_of_ivanova}"',
        'SET VARIABLE "CRM_MANAGER_EXT" "102"',
        'SET VARIABLE "CRM_TARGET" "manager"',
        'SET VARIABLE "CRM_MANAGER_DIAL" "PJSIP/102"',
        'SET VARIABLE "CALLERID(name)" "Sokolov Ivan"',
    ]
    assert rest == b""  # then the server hangs up the AGI connection


async def test_unknown_caller_gets_the_default_queue(client_of_ivanova, agi_port):
    commands, _ = await _converse(agi_port, ENV.format(number="89990000000"), ["200 result=1\n"] * 5)
    assert commands[2:] == ['SET VARIABLE "CRM_MANAGER_EXT" ""', 'SET VARIABLE "CRM_TARGET" "queue:Default"',
                            'SET VARIABLE "CRM_MANAGER_DIAL" ""']


async def test_a_channel_that_hangs_up_gets_no_more_commands(client_of_ivanova, agi_port):
    answers = ["HANGUP\n511 result=-1 Command Not Permitted on a dead channel or intercept routine\n"] * 5
    commands, _ = await _converse(agi_port, ENV.format(number="84951234567"), answers)
    assert commands == ['SET VARIABLE "CRM_NAME" "Sokolov Ivan"']


async def test_a_request_that_is_not_agi_is_dropped_and_the_server_goes_on(client_of_ivanova, agi_port):
    reader, writer = await asyncio.open_connection("127.0.0.1", agi_port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert await asyncio.wait_for(reader.read(), 3) == b""
    commands, _ = await _converse(agi_port, ENV.format(number="84951234567"), ["200 result=1\n"] * 6)
    assert len(commands) == 6


def test_values_are_quoted_for_agi():
    assert quote('Say "hi"\\now\nplease') == '"Say \\"hi\\"\\\\now please"'


async def test_the_example_context_routes_a_known_caller_to_its_manager(client_of_ivanova, database_url, tmp_path):
    from tests.telephony import require_sandbox

    await require_sandbox()
    server = PbxcrmProcess(["agi", "--port", "4573"], dict(os.environ, DATABASE_URL=database_url),
                           tmp_path / "agi.log")
    server.spawn()
    try:
        for _ in range(100):
            if "listening" in server.log_text():
                break
            await asyncio.sleep(0.05)
        async with SippPhone("102", "phone_answer.xml", tmp_path) as ivanova_phone:
            result = await sipp_call(caller="84951234567", called="79991234567", talk_ms=500)
            assert result.returncode == 0, result.output + server.log_text()
            invites = ivanova_phone.invites()
        assert len(invites) == 1 and invites[0].startswith('"Sokolov Ivan"'), invites
        assert "84951234567 -> manager" in server.log_text()
    finally:
        server.stop()
