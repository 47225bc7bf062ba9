"""Local fakes of the GitHub REST (and GraphQL) API that PyGithub and deploybot's GitHub
backend talk to over HTTP, on pytest-httpserver (the [demo] extra's).

`FakeGitHub` (devtools.fake_github.server) serves tags and the Deployments API and lets the
other areas register their routes: `repo` (branches, pull requests, releases, App
installation tokens), `review` (the pre-deployment checklist: check runs, statuses, compare,
reviews, the GraphQL query), `runs` (Actions runs of a commit, re-runs, annotated tags),
`actions` (workflow dispatches and the runs they start) and `doctor` (GET /repos/{r}, as
`deploybot doctor` asks). Used by the tests and benchmarks/github_requests.py.
"""

from devtools.fake_github.server import TOKEN, FakeGitHub, Hit, sha_of

__all__ = ["TOKEN", "FakeGitHub", "Hit", "sha_of"]
