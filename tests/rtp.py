"""A test's own RTP end: a UDP socket that sends a steady G.711 µ-law tone and keeps what it
receives, so a test can say which tones a phone heard (Goertzel) - sipp's own media cannot.

A sipp scenario's SDP points at the socket (tests/sipp/caller_media.xml, phone_media.xml:
-key rtp_port); where to send is the SDP the other side sent, read from sipp's message trace
(remote_of). Asterisk (rtp_symmetric) answers to where the packets come from: the same socket."""

from __future__ import annotations

import asyncio
import math
import re
import socket
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path

RATE = 8000
FRAME = 160  # 20 ms
PCMU = 0


def _ulaw_encode(sample: int) -> int:
    bias, clip = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    sample = min(abs(sample), clip) + bias
    exponent = 7
    for e in range(7, -1, -1):
        if sample & (0x4000 >> (7 - e)):
            exponent = e
            break
    mantissa = (sample >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def _ulaw_decode(byte: int) -> int:
    byte = ~byte & 0xFF
    sign, exponent, mantissa = byte & 0x80, (byte >> 4) & 0x07, byte & 0x0F
    sample = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return -sample if sign else sample


_DECODE = [_ulaw_decode(b) for b in range(256)]


def tone_frames(hz: float, amplitude: int = 6000):
    """20 ms µ-law payloads of a sine, forever."""
    n = 0
    while True:
        yield bytes(_ulaw_encode(int(amplitude * math.sin(2 * math.pi * hz * (n + i) / RATE))) for i in range(FRAME))
        n += FRAME


def amplitude_at(samples: list[int], hz: float) -> float:
    """The amplitude of the `hz` component of the samples (Goertzel): a pure tone of amplitude A gives ~A."""
    if not samples:
        return 0.0
    k = 2 * math.cos(2 * math.pi * hz / RATE)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + k * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - k * s1 * s2
    return 2 * math.sqrt(max(power, 0.0)) / len(samples)


@dataclass
class RtpEnd:
    """One phone's media: sends `hz` (None: silence is not sent at all) once it knows where to."""

    hz: float | None
    sock: socket.socket = field(init=False)
    received: list[tuple[float, bytes]] = field(default_factory=list)  # (arrival, µ-law payload)
    _task: asyncio.Task | None = None
    _reader: asyncio.Task | None = None

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)

    @property
    def port(self) -> int:
        return self.sock.getsockname()[1]

    def start_reading(self) -> None:
        self._reader = asyncio.create_task(self._read())

    def start_sending(self, remote: tuple[str, int]) -> None:
        if self.hz is not None and self._task is None:
            self._task = asyncio.create_task(self._send(remote))

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            data = await loop.sock_recv(self.sock, 2048)
            if len(data) > 12 and data[1] & 0x7F == PCMU:
                self.received.append((time.monotonic(), data[12:]))

    async def _send(self, remote: tuple[str, int]) -> None:
        loop = asyncio.get_running_loop()
        ssrc, seq, ts = 0x5EED0000 + self.port, 1, 0
        start = time.monotonic()
        for n, payload in enumerate(tone_frames(self.hz or 0)):
            header = struct.pack(">BBHII", 0x80, PCMU, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
            await loop.sock_sendto(self.sock, header + payload, remote)
            seq, ts = seq + 1, ts + FRAME
            await asyncio.sleep(max(0.0, start + (n + 1) * 0.02 - time.monotonic()))

    def samples(self, since: float, until: float) -> list[int]:
        return [_DECODE[b] for at, payload in self.received if since <= at < until for b in payload]

    def packets(self, since: float, until: float) -> int:
        return sum(1 for at, _ in self.received if since <= at < until)

    def heard(self, hz: float, since: float, until: float) -> float:
        return amplitude_at(self.samples(since, until), hz)

    async def close(self) -> None:
        for task in (self._task, self._reader):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self.sock.close()


_RECEIVED = re.compile(r"message received")


def remote_of(message_file: Path) -> tuple[str, int] | None:
    """Where the other side wants its RTP: the c= and m=audio of the last SDP sipp received."""
    if not message_file.exists():
        return None
    text = message_file.read_text(errors="replace")
    for block in reversed(_RECEIVED.split(text)[1:]):
        block = block.split("\n-----", 1)[0]
        port = re.search(r"^\s*m=audio (\d+)", block, flags=re.M)
        host = re.search(r"^\s*c=IN IP4 ([0-9.]+)", block, flags=re.M)
        if port and host:
            return host.group(1), int(port.group(1))
    return None
