"""GitHub through PyGithub, one module per port: `client` (the connection and the one place
PyGithub's and the network's errors become deploybot's error kinds; conditional GETs through
`conditional`, GraphQL queries), `source` (tags: the
SourceControl port), `mirror` (the Deployments API: the DeploymentMirror port), `heads`
(branch heads and open pull requests, for polling: the RepositoryHeads port), `review`
(a commit's checks, the compared commits and their reviews: the CodeReview port),
`actions` (dispatching a workflow, finding and reading its run) and `executor` (the
github-actions executor: a Cluster whose rollout is that run).

The only package that imports PyGithub (`github`); an import-linter contract keeps it so.
"""

from bot.backends.github.client import DEFAULT_API_URL, GitHubClient
from bot.backends.github.heads import GitHubRepositoryHeads
from bot.backends.github.mirror import GitHubDeploymentMirror
from bot.backends.github.review import GitHubCodeReview
from bot.backends.github.source import GitHubSourceControl

__all__ = ["DEFAULT_API_URL", "GitHubClient", "GitHubCodeReview", "GitHubDeploymentMirror",
           "GitHubRepositoryHeads", "GitHubSourceControl"]
