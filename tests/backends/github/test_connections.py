"""The GitHub backend reuses its HTTP connection (PyGithub's requests.Session, kept by its
Requester): REST calls and GraphQL queries through `GitHubSourceControl` and
`GitHubCodeReview` reach the fake GitHub API over one TCP connection, not one per call.

pytest-httpserver's server (werkzeug's) closes every connection after one answer
(`Connection: close`, whatever the HTTP version), so here the same fake (its
`application`: routes, log) is served by the HTTP/1.1 keep-alive server of the other fakes
(devtools/httpbits.py), as GitHub's API keeps connections, counting those it accepts."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer
from werkzeug.test import EnvironBuilder

from bot.backends.github import GitHubClient, GitHubCodeReview, GitHubSourceControl
from devtools.fake_github import FakeGitHub
from devtools.fake_github.review import FakeReview
from devtools.httpbits import TrackedHandler, TrackingServer, read_body
from tests.backends.github.conftest import TAGS


class _Served(TrackingServer):
    def __init__(self, owner: HTTPServer) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(TrackedHandler):
    server_version = "FakeGitHub/1.0"
    server: _Served

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        host, port = self.server.server_address[:2]
        request = EnvironBuilder(path=self.path, method=self.command,
                                 base_url=f"http://{host}:{port}",
                                 headers=list(self.headers.items()),
                                 data=read_body(self)).get_request()
        response = self.server.owner.application(request)
        body = response.get_data()
        self.send_response(response.status_code)
        for name, value in response.headers.items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class KeepAliveHTTPServer(HTTPServer):
    """pytest-httpserver's routes and log, served over HTTP/1.1 keep-alive; `accepted`: the
    TCP connections accepted so far."""

    def __init__(self) -> None:
        super().__init__(host="127.0.0.1", port=0)
        self._served: _Served | None = None

    @property
    def accepted(self) -> int:
        assert self._served is not None
        return self._served.accepted

    def start(self) -> None:
        served = self._served = _Served(self)
        self.port = served.server_address[1]
        self.server_thread = threading.Thread(target=served.serve_forever,
                                              kwargs={"poll_interval": 0.05}, daemon=True)
        self.server_thread.start()

    def is_running(self) -> bool:
        return self._served is not None

    def stop(self) -> None:
        served, self._served = self._served, None
        if served is not None:
            served.shutdown()
            served.server_close()


@pytest.fixture
def server() -> Iterator[KeepAliveHTTPServer]:
    s = KeepAliveHTTPServer()
    s.start()
    try:
        yield s
    finally:
        s.clear()
        s.stop()


@pytest.fixture
def fake(server: KeepAliveHTTPServer) -> FakeGitHub:  # the conftest's `client` talks to it
    return FakeGitHub(server, {"acme/api": list(TAGS)})


def test_rest_and_graphql_calls_share_one_connection(server: KeepAliveHTTPServer,
                                                     fake: FakeGitHub,
                                                     client: GitHubClient) -> None:
    history = FakeReview(fake, "acme/api")
    history.commit("initial", pr=1)
    history.tag("v2.0.0")
    history.commit("Add login", author="dana", pr=10, files=["app/login.py"])
    history.tag("v2.1.0")
    history.check("v2.1.0", "build", "success")
    source, review = GitHubSourceControl(client), GitHubCodeReview(client)
    for _ in range(3):
        assert source.tag_exists("acme/api", "v2.1.0") is True
        assert source.tags("acme/api", limit=2) == ["v2.1.0", "v2.0.0"]
        assert review.checks("acme/api", "v2.1.0")
        cmp = review.compare("acme/api", "v2.0.0", "v2.1.0", max_commits=10)
        assert [c.title for c in cmp.commits] == ["Add login"]
    paths = fake.calls()
    assert "/graphql" in paths and len(paths) >= 12, paths
    assert server.accepted == 1, (server.accepted, len(paths))
