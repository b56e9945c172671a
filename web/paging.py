"""Server-side paging parameters taken from the query string."""

from __future__ import annotations

from dataclasses import dataclass, replace

from starlette.requests import Request

from web.schemas import PageQuery
from web.validation import query

DEFAULT_SIZE = 50
MAX_SIZE = 500


@dataclass(frozen=True)
class Page:
    number: int
    size: int
    total: int = 0

    @classmethod
    def from_request(cls, request: Request) -> "Page":
        params = query(request, PageQuery)
        return cls(number=params.page or 1, size=min(params.size or DEFAULT_SIZE, MAX_SIZE))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    def with_total(self, total: int) -> "Page":
        return replace(self, total=total)

