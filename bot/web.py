"""The HTTP face of the bot: an ASGI app serving Slack requests and health checks.

Bolt's sync `App.dispatch` runs in Starlette's thread pool, never on the event loop, so one
slow request cannot hold up the acks of others. Served by uvicorn (`deploybot run`).
"""

from __future__ import annotations

import gc
import signal
from contextlib import nullcontext
from types import FrameType

import uvicorn
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.background import Background
from bot.services.github_webhooks import GitHubWebhooks, Received


def serve(asgi: Starlette, *, host: str, port: int, log_level: str = "info") -> None:
    """Serve until SIGTERM/SIGINT with uvicorn (`deploybot run`, and the benchmark).

    Everything built at start (config, engine, Bolt app, client modules) lives as long as
    the process: freezing it out of the garbage collector's generations keeps full
    collections short, which is what shows in the ack latency tail under load."""
    gc.collect()
    gc.freeze()
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal with the handler it
    # found: make that a normal exit, so the caller's cleanup (scheduler, runner, database)
    # runs and the process ends with 0.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    uvicorn.run(asgi, host=host, port=port, log_level=log_level, access_log=False)


def _exit_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


def build_asgi(bolt: App, *, background: Background | None = None,
               github: GitHubWebhooks | None = None) -> Starlette:
    """`background`: the listeners' work pool, held back while requests are being answered.
    `github`: GitHub webhooks (POST /github/webhook); None (no GITHUB_WEBHOOK_SECRET): 404."""
    answering = background.answering if background is not None else nullcontext

    async def events(request: Request) -> Response:
        with answering():
            body = await request.body()
            bolt_resp = await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_resp)

    async def github_webhook(request: Request) -> Response:
        """Verified (X-Hub-Signature-256), claimed once per X-GitHub-Delivery, then handed
        to the background pool: GitHub gets its answer well inside its 10 s."""
        if github is None:
            return JSONResponse({"ok": False, "error": "GitHub webhooks are off"},
                                status_code=404)
        body = await request.body()
        if not github.verify(body, request.headers.get("x-hub-signature-256")):
            return JSONResponse({"ok": False, "error": "bad signature"}, status_code=401)
        event = request.headers.get("x-github-event", "")
        delivery = request.headers.get("x-github-delivery", "")
        if event == "ping":
            return JSONResponse({"ok": True, "pong": True})
        received = await run_in_threadpool(github.receive, event, delivery, body)
        if received is Received.INVALID:
            return JSONResponse({"ok": False, "error": "bad delivery"}, status_code=400)
        return JSONResponse({"ok": True, "delivery": received.value})

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"ok": True})

    return Starlette(routes=[
        Route("/slack/events", events, methods=["POST"]),
        Route("/github/webhook", github_webhook, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ])
