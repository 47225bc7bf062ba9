"""`/logs` and the Logs button end to end: signed Slack HTTP in, the real kubernetes client
reading pod logs from the fake Kubernetes API server, the tail redacted and shared as a file
through the fake Slack's three upload steps (the file's bytes are what these tests read),
an audit event in the real store.

In staging: `api` healthy, logging lines with secrets in them; `crash` rolled out by hand to
a version whose pods crash-loop (its previous run logged why); `web` on the simulated
executor. Production runs `api` too; its logs are for the `log_viewers` role.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from bot.clock import ManualClock
from bot.presentation import ids
from bot.services.logs import POST_CAP, READ_CAP
from devtools.fake_k8s import FakeKubernetes
from devtools.fake_slack import UploadedFile
from tests.conftest import APPROVER, OUTSIDER, REQUESTER, RunningBot, base_config
from tests.handlers.spine import CHANNEL, run_to_end
from tests.handlers.spine import request as deploy_request
from tests.handlers.test_troubleshooting import audit, command

PG_URL = "postgres://orders:Tr0ub4dor&3@db.internal:5432/orders"
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
       "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
API_LINES = [
    "INFO starting api v1.2.2",
    f"DEBUG connecting to {PG_URL}",
    '{"level":"debug","msg":"login","password": "p@ss w0rd!","user":"ana"}',
    "WARN s3 client using AKIAIOSFODNN7EXAMPLE",
    "GET /v1/charges?api_key=sk_live_4eC39HqLyjWDarjtT1zdp7dc 200",
    f"INFO forwarding Authorization: Bearer {JWT}",
    "ERROR pool timeout after 30s",
    "INFO ready",
]
SECRETS = ["Tr0ub4dor&3", "p@ss w0rd!", "IOSFODNN7EXAMPLE", "4eC39HqLyjWDarjtT1zdp7dc",
           "SflKxwRJSMeKKF2QT4fw"]
CRASH_PREVIOUS = ["INFO starting crash v1.3.0",
                  "ERROR config: DATABASE_PASSWORD=hunter2-prod is rejected by the server",
                  "panic: cannot connect to the database"]


def image(service: str, version: str) -> str:
    return f"ghcr.io/acme/{service}:{version}"


@pytest.fixture
def fake_k8s(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
             clock: ManualClock) -> Iterator[FakeKubernetes]:
    with FakeKubernetes(tick=0.02, clock=clock.now) as fake:
        for namespace in ("staging", "production"):
            fake.add_deployment(namespace, "api", containers=[
                {"name": "api", "image": image("api", "v1.2.2")}], replicas=2)
        fake.add_deployment("staging", "crash", containers=[
            {"name": "crash", "image": image("crash", "v1.2.2")}], replicas=1)
        fake.set_logs("staging", "api", lines=API_LINES)
        fake.set_logs("production", "api", lines=API_LINES)
        monkeypatch.setenv("KUBECONFIG",
                           fake.write_kubeconfig(str(tmp_path / "kubeconfig"), context="fake"))
        yield fake


@pytest.fixture
def config_data(fake_k8s: FakeKubernetes) -> dict[str, Any]:
    cfg = base_config(
        services={name: {"executor": "kubernetes", "environments": envs,
                         "kubernetes": {"image": image(name, "{version}")}}
                  for name, envs in (("api", ["staging", "production"]),
                                     ("crash", ["staging"]))}
        | {"web": {"executor": "simulated", "environments": ["staging"]}},
        kubernetes={"contexts": {"staging": "fake", "production": "fake"}})
    cfg["roles"]["log_viewers"] = [APPROVER]
    return cfg


def logs(bot: RunningBot, text: str, *, user: str = REQUESTER) -> tuple[str, str]:
    """`/logs text`: (the ack's text, the answer's text)."""
    reply = command(bot, "/logs", text, user=user)
    (post,) = bot.requester.response_posts(reply, timeout=20)
    assert post.args.get("response_type") == "ephemeral", post.args
    return str(reply.json["text"]), str(post.args["text"])


def refused(bot: RunningBot, text: str, *, user: str = REQUESTER) -> str:
    """`/logs text` refused on the ack: its text (nothing read, nothing posted)."""
    reply = command(bot, "/logs", text, user=user)
    return str(reply.json["text"])


def the_file(bot: RunningBot) -> UploadedFile:
    (f,) = bot.slack.uploaded_files()
    return f


def log_requests(fake: FakeKubernetes) -> list[dict[str, str]]:
    return [r.query for r in fake.recorded("GET", "/log")]


def test_the_tail_is_a_file_with_the_secrets_redacted_sent_to_the_person(
        bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    ack, answer = logs(bot, "staging api")

    assert ack.startswith("⏳ Reading the log of `api` in *staging* (its least healthy pod, "
                          "`--tail 200`)")
    f = the_file(bot)
    assert f.channel == "DU0ALICE"  # no recent deployment thread: the person's DM
    for secret in SECRETS:
        assert secret not in f.text
    lines = f.text.splitlines()
    assert lines[0] == "INFO starting api v1.2.2"
    assert lines[1] == "DEBUG connecting to postgres://orders:[redacted]@db.internal:5432/orders"
    assert lines[2] == '{"level":"debug","msg":"login","password": [redacted],"user":"ana"}'
    assert lines[-2:] == ["ERROR pool timeout after 30s", "INFO ready"]
    assert f.filename.startswith("api-staging-api-") and f.filename.endswith(".log")
    assert f.initial_comment is not None
    assert "asked by <@U0ALICE>: last 200 lines. Secrets are redacted. 5 secrets masked." \
        in f.initial_comment
    assert answer.startswith("📄 Posted the log of `api-")
    assert "to you in a direct message (8 lines)" in answer
    assert f"<{f.permalink}|Open the file>" in answer

    (query,) = log_requests(fake_k8s)
    assert (query["tailLines"], query["limitBytes"]) == ("200", str(READ_CAP))
    ((actor, details),) = audit(bot, "logs.read")
    assert actor == REQUESTER
    assert (details["service"], details["environment"], details["lines"], details["masked"],
            details["in_thread"], details["ok"]) == ("api", "staging", 8, 5, False, True)
    assert details["pod"].startswith("api-") and details["container"] == "api"


def test_a_crash_looping_pod_its_previous_run(bot: RunningBot, fake_k8s: FakeKubernetes,
                                              clock: ManualClock) -> None:
    fake_k8s.fail_next_rollout("staging", "crash", "crash_loop")
    api = k8s_config.new_client_from_config(  # type: ignore[no-untyped-call]
        config_file=os.environ["KUBECONFIG"], persist_config=False)
    try:
        k8s.AppsV1Api(api).patch_namespaced_deployment("crash", "staging", {"spec": {
            "template": {"spec": {"containers": [{"name": "crash",
                                                  "image": image("crash", "v1.3.0")}]}}}})
    finally:
        api.close()
    fake_k8s.wait_until(lambda f: any(
        (s.get("lastState") or {}).get("terminated")
        for p in f.pods("staging", "app=crash")
        for s in p.get("status", {}).get("containerStatuses") or []), timeout=20)
    fake_k8s.set_logs("staging", "crash", lines=["INFO starting crash v1.3.0"],
                      previous=CRASH_PREVIOUS)

    _, answer = logs(bot, "staging crash --previous")

    f = the_file(bot)
    assert f.text.splitlines() == [
        "INFO starting crash v1.3.0",
        "ERROR config: DATABASE_PASSWORD=[redacted] is rejected by the server",
        "panic: cannot connect to the database"]
    assert f.filename.endswith("-previous.log")
    assert "(crash, its previous run)" in answer
    assert log_requests(fake_k8s)[-1]["previous"] == "true"


def test_since_tail_and_grep(bot: RunningBot, fake_k8s: FakeKubernetes,
                             clock: ManualClock) -> None:
    now = clock.now()
    fake_k8s.set_logs("staging", "api", lines=[
        (now - timedelta(hours=1), "ERROR an hour ago"),
        *[(now - timedelta(minutes=5), f"INFO request {i}") for i in range(10)],
        (now - timedelta(minutes=4), "ERROR Pool Timeout after 30s"),
        (now - timedelta(minutes=3), "INFO done")])

    logs(bot, "staging api --since 10m")
    assert "an hour ago" not in the_file(bot).text
    assert log_requests(fake_k8s)[-1]["sinceSeconds"] == "600"
    bot.slack.reset()

    logs(bot, "staging api --tail 2")
    assert the_file(bot).text == "ERROR Pool Timeout after 30s\nINFO done\n"
    bot.slack.reset()

    _, answer = logs(bot, 'staging api --grep "pool timeout"')
    f = the_file(bot)
    assert f.text == "ERROR Pool Timeout after 30s\n"
    assert f.initial_comment is not None
    assert "1 of 13 matching `pool timeout` (any case)" in f.initial_comment
    assert "(1 lines)" in answer
    bot.slack.reset()

    _, answer = logs(bot, "staging api --grep nothing-like-this")
    assert answer.startswith("🔍 No line of `api-")
    assert "matches `nothing-like-this` (any case) in the 13 lines read" in answer
    assert bot.slack.uploaded_files() == []


def test_a_50_mb_log_is_capped_where_it_is_read_and_where_it_is_posted(
        bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    lines = [f"INFO {i:05d} " + "x" * 10_229 + " token=abcdefgh12345678"  # 10 kB a line
             for i in range(5000)]
    fake_k8s.set_logs("staging", "api", lines=["\n".join(lines)])  # 50 MB

    _, answer = logs(bot, "staging api --tail 5000")

    # Never more than READ_CAP a read. The kubelet keeps the oldest lines of a tail it cuts
    # at limitBytes, so the cut read is asked again for as many lines as fitted: the
    # file holds the newest lines, the last one last.
    reads = log_requests(fake_k8s)
    assert [r["limitBytes"] for r in reads] == [str(READ_CAP)] * 2
    assert reads[0]["tailLines"] == "5000" and int(reads[1]["tailLines"]) < 200
    f = the_file(bot)
    assert len(f.content or b"") <= POST_CAP
    assert f.text.splitlines()[-1].startswith("INFO 04999 ")
    assert "abcdefgh12345678" not in f.text
    assert all(x.endswith("token=[redacted]") for x in f.text.splitlines())
    assert f.initial_comment is not None
    assert "longer than the 2 MB deploybot reads from the cluster" in f.initial_comment
    assert "these are its newest 194 lines of the 5000 asked for" in f.initial_comment
    assert "The file is cut to its newest 1 MB" in f.initial_comment
    assert "The file is cut to its newest 1 MB" in answer
    ((_, details),) = audit(bot, "logs.read")
    assert details["cut"] is True


def test_into_the_deployments_recent_thread_and_from_the_logs_button(
        bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    d = deploy_request(bot, "api staging v1.3.0")
    run_to_end(bot, d)
    card_ts = bot.deployment(d).message_ts

    _, answer = logs(bot, "staging api --tail 3")
    f = the_file(bot)
    assert (f.channel, f.thread_ts) == (CHANNEL, card_ts)
    assert "in the deployment's thread (3 lines)" in answer
    shared = [m for m in bot.slack.messages(CHANNEL) if m.get("files")]
    assert [m["thread_ts"] for m in shared] == [card_ts]
    bot.slack.reset()

    clicked = bot.requester.click(user_id=REQUESTER, action_id=ids.SHOW_LOGS, value=str(d),
                                  channel_id=CHANNEL)
    (post,) = bot.requester.response_posts(clicked, timeout=20)
    assert "in the deployment's thread" in str(post.args["text"])
    f = the_file(bot)
    assert (f.channel, f.thread_ts) == (CHANNEL, card_ts)
    assert [a for a, _ in audit(bot, "logs.read")] == [REQUESTER, REQUESTER]


def test_production_logs_are_for_the_log_viewers_and_go_to_them_only(
        bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    text = refused_answer(bot, "production api", user=REQUESTER)
    assert text.startswith("⚠️ You may not read the logs of `api` in production: that needs "
                           "the `log_viewers` role (production logs can hold customer data)")
    assert bot.slack.uploaded_files() == []
    assert log_requests(fake_k8s) == []

    _, answer = logs(bot, "production api", user=APPROVER)
    assert the_file(bot).channel == "DU0BOB"
    assert "to you in a direct message" in answer


def refused_answer(bot: RunningBot, text: str, *, user: str) -> str:
    return logs(bot, text, user=user)[1]


def test_a_non_viewer_is_refused_with_the_role_to_ask_for(bot: RunningBot,
                                                          fake_k8s: FakeKubernetes) -> None:
    text = refused_answer(bot, "staging api", user=OUTSIDER)
    assert text == ("⚠️ You may not read the logs of `api` in staging: that needs the "
                    "`deployers` role, set in `environments.staging.logs.viewers`. Ask a "
                    "platform admin to add you in app.yaml.")
    assert bot.slack.uploaded_files() == []


def test_bad_input_gets_its_own_ephemeral_message(bot: RunningBot,
                                                  fake_k8s: FakeKubernetes) -> None:
    assert refused(bot, "staging api --follow").startswith(
        "⚠️ Unknown option `--follow`. `/logs` posts a tail; it cannot follow a log")
    assert refused(bot, "staging api --tail 0").startswith(
        "⚠️ `0` is not a number of lines for `--tail`")
    assert refused(bot, "qa api").startswith("⚠️ Unknown environment `qa`.")
    _, answer = logs(bot, "staging api api-nope-12345")
    assert answer.startswith("⚠️ ")
    assert "pod api-nope-12345 is not one of service api's pods in staging; its pods: api-" \
        in answer
    _, answer = logs(bot, "staging web")
    assert answer.startswith("\N{INFORMATION SOURCE}\ufe0f `web` runs on the simulated "
                             "executor: deploybot keeps no logs of it")
    assert bot.slack.uploaded_files() == []


def test_a_thread_in_a_channel_the_bot_left_falls_back_to_the_dm(
        bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    d = deploy_request(bot, "api staging v1.3.0")
    run_to_end(bot, d)
    bot.slack.set_channel(CHANNEL, "deployments", member=False)

    _, answer = logs(bot, "staging api --tail 1")

    assert [c.args.get("channel_id") for c in
            bot.slack.calls("files.completeUploadExternal")] == [CHANNEL, "DU0ALICE"]
    f = the_file(bot)
    assert (f.channel, f.thread_ts) == ("DU0ALICE", None)
    assert "to you in a direct message (1 lines)" in answer
    assert f"deploybot is not in the channel of deployment #{d}'s thread (invite it there)" \
        in answer


def test_rbac_refusing_the_log_is_explained(bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    fake_k8s.fail_requests("GET", r"/pods/[^/]+/log", status=403)
    _, answer = logs(bot, "staging api")
    assert answer.startswith("🔒 deploybot cannot read the log of `api` in staging: ")
    assert "pods/log" in answer
    assert bot.slack.uploaded_files() == []
    ((_, details),) = audit(bot, "logs.read")
    assert details["ok"] is False


def test_the_logs_button_keeps_the_viewer_rule_and_help_shows_the_usage(
        bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    d = deploy_request(bot, "api staging v1.3.0")
    run_to_end(bot, d)
    clicked = bot.requester.click(user_id=OUTSIDER, action_id=ids.SHOW_LOGS, value=str(d),
                                  channel_id=CHANNEL)
    (post,) = bot.requester.response_posts(clicked, timeout=20)
    assert str(post.args["text"]).startswith("⚠️ You may not read the logs of `api` in staging")
    assert bot.slack.uploaded_files() == []

    usage = refused(bot, "help")
    assert usage.startswith("*Usage*\n• `/logs &lt;environment&gt; [service] [pod]`")
    assert "`--grep text`" in usage and "`logs.viewers` role" in usage


def test_slack_refusing_the_file_is_told_as_slacks_refusal_not_the_clusters(
        bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    # Slack refuses the upload for good (the token lacks files:write, say): the log was read,
    # so the answer must not send the person to the cluster's RBAC; it is deploybot's own
    # setup problem, told as every other one is (a reference to quote; the cause logged).
    bot.slack.fail_next("files.getUploadURLExternal", "missing_scope")

    _, answer = logs(bot, "staging api --tail 3")

    assert "a configuration problem, reference `" in answer, answer
    assert "deploybot cannot read the log" not in answer, answer
    assert "docs/kubernetes.md" not in answer, answer
    ((_, details),) = audit(bot, "logs.read")
    assert details["ok"] is False and "missing_scope" in str(details["error"])
