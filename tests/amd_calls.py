"""The far end of the trunk as answering-machine detection hears it (issue 22): a sipp UAS on the trunk's
port that answers and plays either a machine's long greeting or a person's short "hello" then silence.

The audio is made here, not kept in git: G.711 µ-law RTP in a pcap (Ethernet, IPv4, UDP) that sipp's
play_pcap_audio sends at the packets' own pace. "Speech" is a 400 Hz tone (well over app_amd's silence
threshold), silence is µ-law zero - sent, not left out, as a real line's is.

    async with trunk_client("machine", tmp_path):  # then dial any number through the trunk
        ...
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

from tests.rtp import FRAME, PCMU, RATE, _ulaw_encode
from tests.telephony import SIPP_DIR, TRUNK_PORT, SippPhone

# (what it says, in ms): (sound, milliseconds) pieces, sound True for speech.
GREETINGS: dict[str, list[tuple[bool, int]]] = {
    # "Hello, you have reached ... please leave a message after the tone": 4 s of talking, then silence.
    "machine": [(False, 300), (True, 4000), (False, 2000)],
    # "Hello?" and then waits for the caller to speak.
    "human": [(False, 300), (True, 500), (False, 4000)],
}
_SILENCE = bytes([_ulaw_encode(0)]) * FRAME


def _speech_frames(ms: int, hz: float = 400.0, amplitude: int = 8000) -> list[bytes]:
    frames = []
    for n in range(ms // 20):
        frames.append(bytes(_ulaw_encode(int(amplitude * math.sin(2 * math.pi * hz * (n * FRAME + i) / RATE)))
                            for i in range(FRAME)))
    return frames


def greeting_frames(kind: str) -> list[bytes]:
    frames: list[bytes] = []
    for speech, ms in GREETINGS[kind]:
        frames += _speech_frames(ms) if speech else [_SILENCE] * (ms // 20)
    return frames


def _checksum(header: bytes) -> int:
    total = sum(struct.unpack(f">{len(header) // 2}H", header))
    total = (total & 0xFFFF) + (total >> 16)
    return ~((total & 0xFFFF) + (total >> 16)) & 0xFFFF


def rtp_pcap(frames: list[bytes], *, ssrc: int = 0x414D4400) -> bytes:
    """A pcap of one RTP stream (PCMU, 20 ms apart); the addresses are placeholders sipp replaces."""
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))  # Ethernet link type
    for n, payload in enumerate(frames):
        rtp = struct.pack(">BBHII", 0x80, PCMU | (0x80 if n == 0 else 0), n & 0xFFFF, (n * FRAME) & 0xFFFFFFFF,
                          ssrc) + payload
        udp = struct.pack(">HHHH", 6000, 6002, 8 + len(rtp), 0) + rtp  # checksum 0: none
        ip = bytearray(struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), n & 0xFFFF, 0, 64, 17, 0,
                                   bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])))
        ip[10:12] = struct.pack(">H", _checksum(bytes(ip)))
        frame = b"\0\0\0\0\0\1" + b"\0\0\0\0\0\2" + b"\x08\x00" + bytes(ip) + udp
        micros = n * 20_000
        out += struct.pack("<IIII", micros // 1_000_000, micros % 1_000_000, len(frame), len(frame)) + frame
    return bytes(out)


def trunk_client(kind: str, work_dir: Path, *, port: int = TRUNK_PORT) -> SippPhone:
    """A sipp UAS at the trunk's contact (asterisk-conf/pjsip.conf) whose every answered call greets as
    `kind` says: "machine" or "human". An async context manager (SippPhone): started, then stopped."""
    if kind not in GREETINGS:
        raise ValueError(f"no greeting {kind!r}: one of {sorted(GREETINGS)}")
    work_dir.mkdir(parents=True, exist_ok=True)
    pcap = work_dir / f"greeting-{kind}.pcap"
    pcap.write_bytes(rtp_pcap(greeting_frames(kind)))
    scenario = work_dir / f"trunk-amd-{kind}.xml"
    scenario.write_text((SIPP_DIR / "trunk_amd.xml").read_text().replace("GREETING_PCAP", str(pcap)))
    return SippPhone(f"trunk-{kind}", str(scenario), work_dir, port=port)
