"""The HTTP face of the bot: an ASGI app serving Slack requests and health checks.

Bolt's sync `App.dispatch` runs in Starlette's thread pool, never on the event loop, so one
slow request cannot hold up the acks of others. Served by uvicorn (`deploybot run`).
"""

from __future__ import annotations

from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def build_asgi(bolt: App) -> Starlette:
    async def events(request: Request) -> Response:
        body = await request.body()
        bolt_resp = await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_resp)

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"ok": True})

    return Starlette(routes=[
        Route("/slack/events", events, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ])
