"""The HTTP face of the bot: an ASGI app serving Slack requests and health checks.

Bolt's sync `App.dispatch` runs in Starlette's thread pool, never on the event loop, so one
slow request cannot hold up the acks of others. Served by uvicorn (`deploybot run`).
"""

from __future__ import annotations

import gc
import logging
import signal
import threading
import time
from contextlib import nullcontext
from types import FrameType

import uvicorn
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_starlette_response
from slack_bolt.middleware import RequestVerification
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.background import Background
from bot.clock import Clock, SystemClock
from bot.drain import Drain, refusal_for
from bot.metrics import DeploybotMetrics, slack_request_labels
from bot.services.github_webhooks import GitHubWebhooks, Received
from bot.services.readiness import ReadinessCheck
from bot.slack_edge import Malformed, bolt_request, is_ssl_check, signature_problem

log = logging.getLogger(__name__)

#: The largest Slack request body read, in bytes. Slack's payloads are a few KiB (a modal's
#: state, a message's blocks: tens at most); anything this large is not from Slack.
SLACK_MAX_BODY = 1 << 20
#: The largest GitHub delivery read: GitHub caps webhook payloads at 25 MB (larger events
#: are not delivered; https://docs.github.com/en/webhooks/webhook-events-and-payloads).
GITHUB_MAX_BODY = 25 << 20
#: What a body over its cap is answered (HTTP 413).
TOO_LARGE = {"ok": False, "error": "request too large"}


async def capped_body(request: Request, cap: int) -> bytes | None:
    """The request's body, or None when it is larger than `cap` bytes: refused on its
    declared Content-Length before any of it is read, else (chunked, or a length that
    lies) as soon as what arrived passes the cap. Never more than `cap` (+ one chunk) held."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() \
            and (len(declared) > 18 or int(declared) > cap):
        return None
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > cap:
            return None
    return bytes(received)


#: The garbage collector's thresholds in a served process (Python's: 700, 10, 10). Objects
#: are freed by reference counting; the collector only finds cycles, and each collection
#: walks every tracked object of its generations that is still alive. Under a burst of
#: commands those are mostly the follow-ups waiting on the listener pool (about 16 objects
#: each): with Python's thresholds a 5,000-command burst triggered ~500 young and 5 full
#: collections, 270 ms of CPU, the longest full one ~50 ms with every ack waiting behind it
#: (p99 70-90 ms against 35-50 without follow-ups queued); with these, 3 young ones of
#: ~13 ms (benchmarks/README.md, "Lean request path"). Cyclic garbage waits for a
#: collection a little longer: a web process's memory over 10,000 requests is unchanged
#: (benchmarks/memory_burst.py).
GC_THRESHOLDS = (50_000, 20, 10)


def serve(asgi: Starlette, *, host: str, port: int, log_level: str = "info",
          drain: Drain | None = None, drain_for: float = 0.0) -> None:
    """Serve until SIGTERM/SIGINT with uvicorn (`deploybot run`, and the benchmark), then
    return (the caller's cleanup runs; the process ends with 0).

    The first signal begins `drain` (see bot.drain) and keeps serving `drain_for` seconds
    more (SIGINT: none), so requests being answered finish and new ones get a clear refusal;
    then uvicorn closes gracefully. A second signal stops at once.

    Everything built at start (config, engine, Bolt app, client modules) lives as long as
    the process: freezing it out of the garbage collector's generations keeps full
    collections short, which is what shows in the ack latency tail under load. And the
    collector runs far less often (`GC_THRESHOLDS`)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    # log_config=None: uvicorn's loggers go through the root logger `deploybot run` set up
    # (bot.logs: text or JSON lines, secrets masked).
    config = uvicorn.Config(asgi, host=host, port=port, log_level=log_level,
                            access_log=False, log_config=None)
    _DrainingServer(config, drain=drain or Drain(), drain_for=drain_for).run()


class _DrainingServer(uvicorn.Server):
    """uvicorn, with a drain before its graceful shutdown. The signal is not re-raised
    after the shutdown (uvicorn would, ending the process before the caller's cleanup)."""

    def __init__(self, config: uvicorn.Config, *, drain: Drain, drain_for: float) -> None:
        super().__init__(config)
        self._drain = drain
        self._drain_for = drain_for

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._drain.draining:  # a second signal: stop now
            self.should_exit = True
            return
        self._drain.begin()
        if sig == signal.SIGINT or self._drain_for <= 0:
            self.should_exit = True
            return
        timer = threading.Timer(self._drain_for, self._stop)
        timer.daemon = True
        timer.start()

    def _stop(self) -> None:
        self.should_exit = True  # the main loop looks every 0.1 s


#: What a worker process (`deploybot run --role worker`) answers on the Slack and GitHub routes.
NOT_HERE = {"ok": False, "error": "this is a deploybot worker process: it runs deployments "
                                  "and scheduled jobs and answers no Slack or GitHub "
                                  "requests; send them to the web processes"}


def verified_at_the_edge(bolt: App) -> None:
    """Take Bolt's request verification out of `bolt`: served by `build_asgi`, every
    request it dispatches has passed `signature_problem` (bot.slack_edge) on its raw bytes,
    with the secret `bolt` was built with; Bolt's middleware would verify the same
    signature of the same bytes again (slack_bolt/middleware/request_verification), on the
    ack path of every request."""
    middleware = bolt._middleware_list
    middleware[:] = [m for m in middleware if not isinstance(m, RequestVerification)]


def build_asgi(bolt: App | None, *, background: Background | None = None,
               github: GitHubWebhooks | None = None,
               metrics: DeploybotMetrics | None = None,
               readiness: ReadinessCheck | None = None,
               drain: Drain | None = None,
               wall_clock: Clock | None = None) -> Starlette:
    """`bolt`: the Slack app (POST /slack/events); None in a worker process, whose Slack
    and GitHub routes answer 404 saying so (`NOT_HERE`); its probes and /metrics are served.
    A Slack request is verified on its raw bytes (bot.slack_edge) with the signing secret
    `bolt` was built with, before anything parses it: unsigned or badly signed, 401; signed
    but not what Slack sends, 400; one log line each. Bolt verifies it again behind that.
    A body over its cap (`SLACK_MAX_BODY`, `GITHUB_MAX_BODY`) is 413, read no further.
    `wall_clock`: the real time Slack's request timestamps are compared with (default: the
    system clock; never the bot's own clock, which tests and demos move).
    `background`: the listeners' work pool, held back while requests are being answered.
    `github`: GitHub webhooks (POST /github/webhook); None (no GITHUB_WEBHOOK_SECRET): 404.
    `metrics`: GET /metrics, and the ack latency of every Slack request (None: 404).
    `readiness`: GET /readyz (None: ready when the process answers).
    `drain`: once it has begun (SIGTERM), /readyz is 503 and Slack requests are refused."""
    answering = background.answering if background is not None else nullcontext
    clock = wall_clock or SystemClock()
    # The secret the app was built with: the one its own verification would have used.
    secret = bolt._signing_secret if bolt is not None else ""
    if bolt is not None:
        verified_at_the_edge(bolt)

    def acked(kind: str, name: str, received: float) -> None:
        if metrics is not None:
            # The ack is the response (process_before_response): arrival to here.
            metrics.acked(kind, name, time.perf_counter() - received)

    def refused(status: int, why: str, received: float) -> Response:
        """401 (not signed), 400 (signed, malformed) or 413 (over the cap, signed or not:
        not read): one line, no traceback."""
        log.log(logging.INFO if status == 401 else logging.WARNING,
                "Slack request refused with %d: %s", status, why)
        acked("rejected", "-", received)
        if status == 413:
            return JSONResponse(TOO_LARGE, status_code=413)
        error = "invalid request" if status == 401 else "malformed request"
        return JSONResponse({"ok": False, "error": error}, status_code=status)

    async def events(request: Request) -> Response:
        received = time.perf_counter()
        if bolt is None:
            return JSONResponse(NOT_HERE, status_code=404)
        # Draining as it arrived: a request whose body was being read is served in full.
        draining = drain is not None and drain.draining  # see bot.drain
        with answering():
            capped = await capped_body(request, SLACK_MAX_BODY)
            if capped is None:
                return refused(413, f"the body is larger than {SLACK_MAX_BODY} bytes",
                               received)
            body = capped
            if is_ssl_check(body):  # unsigned, by Slack's design: answered, nothing read
                acked(*slack_request_labels({}, 200), received)
                return Response(status_code=200)
            problem = signature_problem(secret, body,
                                        request.headers.get("x-slack-request-timestamp"),
                                        request.headers.get("x-slack-signature"),
                                        now=clock.now().timestamp())
            if problem is not None:
                return refused(401, problem, received)
            if draining:  # signed, but not taken now: see bot.drain
                status, headers, refusal = refusal_for(body,
                                                       request.headers.get("content-type", ""))
                return Response(refusal, status_code=status, headers=headers)
            try:
                bolt_req = bolt_request(body, request.headers, request.query_params)
            except Malformed as e:
                return refused(400, str(e), received)
            bolt_resp = await run_in_threadpool(bolt.dispatch, bolt_req)
        acked(*slack_request_labels(bolt_req.body, bolt_resp.status), received)
        return to_starlette_response(bolt_resp)

    async def github_webhook(request: Request) -> Response:
        """Verified (X-Hub-Signature-256), claimed once per X-GitHub-Delivery, then handed
        to the background pool: GitHub gets its answer well inside its 10 s."""
        if bolt is None:
            return JSONResponse(NOT_HERE, status_code=404)
        if github is None:
            return JSONResponse({"ok": False, "error": "GitHub webhooks are off"},
                                status_code=404)
        body = await capped_body(request, GITHUB_MAX_BODY)
        if body is None:
            log.warning("GitHub delivery refused with 413: the body is larger than %d bytes",
                        GITHUB_MAX_BODY)
            return JSONResponse(TOO_LARGE, status_code=413)
        if not github.verify(body, request.headers.get("x-hub-signature-256")):
            log.info("GitHub delivery refused with 401: bad or missing signature")
            return JSONResponse({"ok": False, "error": "bad signature"}, status_code=401)
        event = request.headers.get("x-github-event", "")
        delivery = request.headers.get("x-github-delivery", "")
        if event == "ping":
            return JSONResponse({"ok": True, "pong": True})
        received = await run_in_threadpool(github.receive, event, delivery, body)
        if received is Received.INVALID:
            log.warning("GitHub delivery refused with 400: not a JSON object, or no event "
                        "or delivery id")
            return JSONResponse({"ok": False, "error": "bad delivery"}, status_code=400)
        return JSONResponse({"ok": True, "delivery": received.value})

    async def healthz(_request: Request) -> Response:
        """Liveness: the process answers HTTP. Asks nothing else."""
        return JSONResponse({"ok": True})

    async def readyz(_request: Request) -> Response:
        """Readiness: the database and Slack answer; 503 naming what is down."""
        if drain is not None and drain.draining:
            return JSONResponse({"ok": False, "draining": True}, status_code=503)
        if readiness is None:
            return JSONResponse({"ok": True, "checks": {}})
        result = await run_in_threadpool(readiness.check)
        if result.ready:
            return JSONResponse({"ok": True, "checks": dict(result.checks)})
        return JSONResponse({"ok": False, "down": result.down, "checks": dict(result.checks)},
                            status_code=503)

    async def metrics_text(_request: Request) -> Response:
        if metrics is None:
            return JSONResponse({"ok": False, "error": "metrics are off"}, status_code=404)
        payload, content_type = metrics.render()
        return Response(payload, media_type=content_type)

    return Starlette(routes=[
        Route("/slack/events", events, methods=["POST"]),
        Route("/github/webhook", github_webhook, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_text, methods=["GET"]),
    ])
