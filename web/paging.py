"""Server-side paging parameters taken from the query string."""

from __future__ import annotations

from dataclasses import dataclass, replace

from starlette.requests import Request

DEFAULT_SIZE = 50
MAX_SIZE = 500


@dataclass(frozen=True)
class Page:
    number: int
    size: int
    total: int = 0

    @classmethod
    def from_request(cls, request: Request) -> "Page":
        return cls(number=_positive(request.query_params.get("page"), 1),
                   size=min(_positive(request.query_params.get("size"), DEFAULT_SIZE), MAX_SIZE))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    def with_total(self, total: int) -> "Page":
        return replace(self, total=total)


def _positive(raw: str | None, default: int) -> int:
    try:
        value = int(raw) if raw else default
    except ValueError:
        return default
    return value if value > 0 else default
