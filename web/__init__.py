"""The Starlette web UI.

Every `{name:int}` in our routes is a database id (a PostgreSQL bigint): the "int"
path convertor is bounded here, before any route is built, so an id past 64 bits
matches no route (404) instead of overflowing in asyncpg (issue 12).
"""

from starlette.convertors import IntegerConvertor, register_url_convertor

from web.limits import PATH_ID_DIGITS


class DatabaseIdConvertor(IntegerConvertor):
    regex = f"[0-9]{{1,{PATH_ID_DIGITS}}}"


register_url_convertor("int", DatabaseIdConvertor())
