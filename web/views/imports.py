"""Excel import pages: upload, progress, the report of rejected rows."""

from __future__ import annotations

import asyncio
import json

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from crm.errors import NotFound
from crm.i18n import _
from crm.imports import jobs
from crm.imports import queries as imports_q
from crm.imports.reader import MAX_FILE_BYTES
from crm.roles import IMPORT_ROLES, is_admin
from web.db import connection
from web.permissions import require_role
from web.resource import html_or_json
from web.schemas import ImportForm
from web.templating import render
from web.uploads import spool
from web.urls import path_for
from web.validation import parse


async def _page(request: Request, error: str | None = None, status_code: int = 200):
    async with connection(request) as conn:
        recent = await imports_q.recent_jobs(conn, request.user["id"])
    return await render(request, "import.html", {"recent": recent, "error": error, "max_mb": MAX_FILE_BYTES >> 20},
                        status_code=status_code)


@require_role(*IMPORT_ROLES)
async def import_page(request: Request):
    return await _page(request)


@require_role(*IMPORT_ROLES)
async def upload(request: Request):
    declared = int(request.headers.get("content-length") or 0)
    if declared > MAX_FILE_BYTES + 64 * 1024:
        return await _page(request, _("the file is too big: at most %(mb)d MB") % {"mb": MAX_FILE_BYTES >> 20}, 413)
    async with request.form() as form:  # closes the upload's spool file on every path
        upload_file = form.get("file")
        if not isinstance(upload_file, UploadFile):
            return await _page(request, _("choose an .xlsx file"), 400)
        choice = parse(ImportForm, form)
        filename = (upload_file.filename or "").replace("\x00", "")[:200]
        path = await asyncio.to_thread(spool, upload_file.file, prefix="pbxcrm-import-", suffix=".xlsx")
        try:
            async with connection(request) as conn:
                job_id = await jobs.create(conn, request.user["id"], choice.kind, choice.mode, filename)
            # The job outlives the response: it takes its own connections from the pool.
            task = asyncio.create_task(jobs.run(request.app.state.pool, job_id, path, request.user,
                                                request.app.state.settings.default_region))
        except BaseException:  # no job takes the file: it goes now
            path.unlink(missing_ok=True)
            raise
    request.app.state.background.add(task)
    task.add_done_callback(request.app.state.background.discard)
    # A job cancelled before it started (shutdown) never reaches its own cleanup.
    task.add_done_callback(lambda _: path.unlink(missing_ok=True))
    return RedirectResponse(path_for(request, "imports.job_page", id=job_id), status_code=303)


async def _job(request: Request):
    async with connection(request) as conn:
        job = await imports_q.job(conn, request.path_params["id"])
    user = request.user
    if job is None or (job["user_id"] != user["id"] and not is_admin(user)):
        raise NotFound(_("no such import"))
    return job


@require_role(*IMPORT_ROLES)
async def job_page(request: Request):
    """An import's progress and report: the page at /import/{id}, JSON at /api/imports/{id}."""
    job = await _job(request)
    return await html_or_json(request, "import_job.html", {"job": job},
                              lambda: {**job, "rejected": json.loads(job["rejected"])})


routes = [
    Route("/import", import_page, name="imports.import_page", methods=["GET"]),
    Route("/import", upload, name="imports.upload", methods=["POST"]),
    Route("/import/{id:int}", job_page, name="imports.job_page", methods=["GET"]),
    Route("/api/imports/{id:int}", job_page, name="imports.job_api", methods=["GET"]),
]
