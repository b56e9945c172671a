"""SMPP 3.4 PDUs, without I/O: the few an ESME bound as a transceiver sends and receives, and the
pure parts of sending a text (encoding, UDH concatenation) and of reading one (receipts, incoming parts).

Every PDU is a 16-byte header (length, command id, status, sequence) and a body of C-octet strings,
one-byte integers and TLVs (SMPP 3.4, section 3.2 and 5).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field

from crm.sms import model

BIND_TRANSCEIVER, BIND_TRANSCEIVER_RESP = 0x00000009, 0x80000009
SUBMIT_SM, SUBMIT_SM_RESP = 0x00000004, 0x80000004
DELIVER_SM, DELIVER_SM_RESP = 0x00000005, 0x80000005
ENQUIRE_LINK, ENQUIRE_LINK_RESP = 0x00000015, 0x80000015
UNBIND, UNBIND_RESP = 0x00000006, 0x80000006
GENERIC_NACK = 0x80000000

ESME_ROK, ESME_RINVCMDID, ESME_RTHROTTLED, ESME_RX_T_APPDN = 0x00, 0x03, 0x58, 0x64
# Statuses worth another try later; any other error status on a submit is the provider's final word.
TRANSIENT = frozenset({0x04, 0x08, 0x14, 0x58, 0x64})
STATUS_NAMES = {0x00: "ESME_ROK", 0x01: "ESME_RINVMSGLEN", 0x03: "ESME_RINVCMDID", 0x04: "ESME_RINVBNDSTS",
                0x05: "ESME_RALYBND", 0x08: "ESME_RSYSERR", 0x0A: "ESME_RINVSRCADR", 0x0B: "ESME_RINVDSTADR",
                0x0D: "ESME_RBINDFAIL", 0x0E: "ESME_RINVPASWD", 0x0F: "ESME_RINVSYSID", 0x14: "ESME_RMSGQFUL",
                0x45: "ESME_RSUBMITFAIL", 0x58: "ESME_RTHROTTLED", 0x64: "ESME_RX_T_APPDN"}

TLV_RECEIPTED_MESSAGE_ID, TLV_MESSAGE_STATE, TLV_MESSAGE_PAYLOAD = 0x001E, 0x0427, 0x0424
HEADER = struct.Struct(">IIII")
MAX_PDU = 64 * 1024

DC_DEFAULT, DC_LATIN1, DC_UCS2 = 0x00, 0x03, 0x08
ESM_UDHI = 0x40
ESM_RECEIPT_MASK, ESM_RECEIPT = 0x3C, 0x04


def status_name(status: int) -> str:
    return f"{STATUS_NAMES.get(status, 'error')} (0x{status:02X})"


class PduError(ValueError):
    """A PDU that cannot be read: the connection is not to be trusted any more."""


@dataclass
class Pdu:
    command_id: int
    status: int
    seq: int
    body: bytes = b""

    def encode(self) -> bytes:
        return HEADER.pack(HEADER.size + len(self.body), self.command_id, self.status, self.seq) + self.body


def cstr(value: str) -> bytes:
    return value.encode("latin-1", "replace") + b"\0"


def address(number: str) -> tuple[int, int, str]:
    """(TON, NPI, digits): +E.164 is international/ISDN, digits alone unknown, letters alphanumeric."""
    if number.startswith("+") and number[1:].isdigit():
        return 1, 1, number[1:]
    if number.isdigit():
        return 0, 1, number
    return 5, 0, number[:11]


def bind_transceiver(system_id: str, password: str, system_type: str) -> bytes:
    return cstr(system_id) + cstr(password) + cstr(system_type) + bytes([0x34, 0, 0]) + b"\0"


def submit_sm(sender: str, to: str, data_coding: int, esm_class: int, short_message: bytes) -> bytes:
    s_ton, s_npi, s_addr = address(sender)
    d_ton, d_npi, d_addr = address(to)
    return (b"\0" + bytes([s_ton, s_npi]) + cstr(s_addr) + bytes([d_ton, d_npi]) + cstr(d_addr)
            + bytes([esm_class, 0, 0]) + b"\0\0" + bytes([1, 0, data_coding, 0, len(short_message)]) + short_message)


@dataclass
class Deliver:
    """A deliver_sm from the SMSC: a delivery receipt or a message from a phone (or one part of it)."""
    source: str
    destination: str
    esm_class: int
    data_coding: int
    short_message: bytes
    tlvs: dict[int, bytes] = field(default_factory=dict)

    @property
    def is_receipt(self) -> bool:
        return self.esm_class & ESM_RECEIPT_MASK == ESM_RECEIPT


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def cstr(self) -> str:
        end = self.data.find(b"\0", self.at)
        if end < 0:
            raise PduError("unterminated string")
        value, self.at = self.data[self.at:end].decode("latin-1"), end + 1
        return value

    def byte(self) -> int:
        if self.at >= len(self.data):
            raise PduError("short PDU")
        self.at += 1
        return self.data[self.at - 1]

    def take(self, n: int) -> bytes:
        if self.at + n > len(self.data):
            raise PduError("short PDU")
        self.at += n
        return self.data[self.at - n:self.at]

    def tlvs(self) -> dict[int, bytes]:
        found = {}
        while self.at + 4 <= len(self.data):
            tag, length = struct.unpack_from(">HH", self.data, self.at)
            self.at += 4
            found[tag] = self.take(length)
        return found


def _with_plus(ton: int, addr: str) -> str:
    return f"+{addr}" if ton == 1 and addr.isdigit() else addr


def parse_deliver(body: bytes) -> Deliver:
    r = _Reader(body)
    r.cstr()  # service_type
    s_ton, _ = r.byte(), r.byte()
    source = _with_plus(s_ton, r.cstr())
    d_ton, _ = r.byte(), r.byte()
    destination = _with_plus(d_ton, r.cstr())
    esm_class, _, _ = r.byte(), r.byte(), r.byte()
    r.cstr(), r.cstr()  # schedule_delivery_time, validity_period
    r.byte(), r.byte()  # registered_delivery, replace_if_present_flag
    data_coding, _ = r.byte(), r.byte()
    short_message = r.take(r.byte())
    tlvs = r.tlvs()
    if not short_message and TLV_MESSAGE_PAYLOAD in tlvs:
        short_message = tlvs[TLV_MESSAGE_PAYLOAD]
    return Deliver(source, destination, esm_class, data_coding, short_message, tlvs)


def parse_cstr(body: bytes) -> str:
    """The first field of a response (bind_transceiver_resp's system_id, submit_sm_resp's message_id)."""
    return _Reader(body).cstr() if body else ""


# ---- texts: GSM-7 / UCS-2, split into parts with a concatenation UDH

def gsm7_octets(text: str) -> bytes:
    """GSM 03.38, one character an octet (unpacked, as SMSCs take data_coding 0); an extension
    character is the escape and its code."""
    out = bytearray()
    for c in text:
        if c in model.GSM7_ESCAPED:
            out += bytes([0x1B, model.GSM7_ESCAPED[c]])
        else:
            out.append(model.GSM7_TABLE.index(c))
    return bytes(out)


_FROM_ESCAPED = {v: k for k, v in model.GSM7_ESCAPED.items()}


def gsm7_text(octets: bytes) -> str:
    out, escaped = [], False
    for o in octets:
        if escaped:
            out.append(_FROM_ESCAPED.get(o, " "))
            escaped = False
        elif o == 0x1B:
            escaped = True
        else:
            out.append(model.GSM7_TABLE[o & 0x7F])
    return "".join(out)


def decode_text(data_coding: int, octets: bytes) -> str:
    if data_coding == DC_UCS2:
        return octets.decode("utf-16-be", "replace")
    if data_coding == DC_LATIN1:
        return octets.decode("latin-1")
    return gsm7_text(octets)


def _chunks(units: list[bytes], size: int) -> list[bytes]:
    """`units` (a character's octets each) in parts of at most `size` octets, never splitting a unit."""
    parts, current = [], b""
    for unit in units:
        if len(current) + len(unit) > size:
            parts.append(current)
            current = b""
        current += unit
    return [*parts, current] if current or not parts else parts


def text_parts(body: str) -> tuple[int, list[bytes]]:
    """(data_coding, the short messages without UDH): one if it fits, else parts of 153 septets or
    67 UCS-2 units (crm.sms.model.split counts the same way)."""
    if model.encoding_of(body) == model.GSM7:
        data_coding, units = DC_DEFAULT, [gsm7_octets(c) for c in body]
        single, multi = 160, 153
    else:
        data_coding, units = DC_UCS2, [c.encode("utf-16-be") for c in body]
        single, multi = 140, 134
    if sum(len(u) for u in units) <= single:
        return data_coding, [b"".join(units)]
    return data_coding, _chunks(units, multi)


def with_udh(parts: list[bytes], reference: int) -> list[tuple[int, bytes]]:
    """(esm_class, short_message) per part: a concatenation UDH (8-bit reference) when there are several."""
    if len(parts) == 1:
        return [(0, parts[0])]
    total = len(parts)
    return [(ESM_UDHI, bytes([5, 0, 3, reference & 0xFF, total, i]) + part) for i, part in enumerate(parts, 1)]


@dataclass(frozen=True)
class Concat:
    reference: int
    total: int
    seq: int


def split_udh(esm_class: int, short_message: bytes) -> tuple[Concat | None, bytes]:
    """The concatenation header of an incoming part (8- or 16-bit reference), and the text's octets."""
    if not esm_class & ESM_UDHI or not short_message:
        return None, short_message
    length = short_message[0]
    header, rest = short_message[1:1 + length], short_message[1 + length:]
    at = 0
    while at + 2 <= len(header):
        iei, ie_len = header[at], header[at + 1]
        value = header[at + 2:at + 2 + ie_len]
        if iei == 0x00 and ie_len == 3:
            return Concat(value[0], value[1], value[2]), rest
        if iei == 0x08 and ie_len == 4:
            return Concat(value[0] << 8 | value[1], value[2], value[3]), rest
        at += 2 + ie_len
    return None, rest


_RECEIPT_FIELD = re.compile(r"(id|stat|err):\s*([^\s]+)", re.IGNORECASE)
RECEIPT_STATES = {"DELIVRD": model.DELIVERED, "UNDELIV": model.UNDELIVERED, "EXPIRED": model.EXPIRED,
                  "REJECTD": model.FAILED, "DELETED": model.FAILED}
# message_state TLV (SMPP 3.4, 5.3.2.35): 2 delivered, 3 expired, 4 deleted, 5 undeliverable, 8 rejected.
MESSAGE_STATES = {2: model.DELIVERED, 3: model.EXPIRED, 4: model.FAILED, 5: model.UNDELIVERED, 8: model.FAILED}


def parse_receipt(deliver: Deliver) -> tuple[str, str | None, str]:
    """(provider message id, final status or None for an intermediate one such as ENROUTE, detail):
    from the receipted_message_id and message_state TLVs where present, else from the text
    `id:... sub:... dlvrd:... submit date:... done date:... stat:DELIVRD err:...`."""
    text = deliver.short_message.decode("latin-1")
    fields = {k.lower(): v for k, v in _RECEIPT_FIELD.findall(text)}
    tlv_id = deliver.tlvs.get(TLV_RECEIPTED_MESSAGE_ID, b"").rstrip(b"\0").decode("latin-1")
    provider_id = tlv_id or fields.get("id", "")
    state = deliver.tlvs.get(TLV_MESSAGE_STATE)
    stat = fields.get("stat", "").upper()
    if stat:
        status = RECEIPT_STATES.get(stat)
    else:
        status = MESSAGE_STATES.get(state[0]) if state else None
    detail = f"stat:{stat or '-'} err:{fields.get('err', '-')}"
    return provider_id, status, detail
