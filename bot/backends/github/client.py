"""The connection to GitHub (or GitHub Enterprise) that every GitHub backend module shares,
and the one place where PyGithub's and the network's errors become deploybot's error kinds
(RetryableError, PermanentError, NotFound) with a message that says what to do."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import requests
from github import Auth, Github, GithubException
from github.GithubException import (
    BadCredentialsException,
    RateLimitExceededException,
    UnknownObjectException,
)
from github.Repository import Repository

from bot.backends.github.conditional import Answer, ConditionalCache
from bot.errors import NotFound, PermanentError, RateLimited, RetryableError

DEFAULT_API_URL = "https://api.github.com"

T = TypeVar("T")


class GitHubClient:
    """`retry` is PyGithub's (an int or urllib3 Retry); None (the default) asks once, so a
    Slack command never waits behind retries or a rate-limit sleep.

    Authenticated with `token`, or as a GitHub App installation (`app_id`, `private_key`
    PEM, `installation_id`): PyGithub's AppInstallationAuth asks for an installation token
    (POST /app/installations/{id}/access_tokens, with a JWT signed by the key) at the first
    request, uses it on every request, and asks for a new one when it is about to expire.

    `get` makes conditional GETs (ETag / If-None-Match, answers kept in `cache`, per
    process: bot/backends/github/conditional.py); `graphql` posts a GraphQL query to the
    API's GraphQL endpoint (`{api_url}/graphql`; GitHub Enterprise: `{host}/api/graphql`)
    through the same connection."""

    def __init__(self, *, token: str | None, api_url: str = DEFAULT_API_URL,
                 timeout: int = 10, retry: Any = None, app_id: int | None = None,
                 private_key: str | None = None, installation_id: int | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        auth: Auth.Auth | None = Auth.Token(token) if token else None
        if app_id is not None and private_key is not None and installation_id is not None:
            auth = Auth.AppAuth(app_id, private_key).get_installation_auth(installation_id)
        self.gh = Github(
            base_url=self.api_url, auth=auth,
            timeout=timeout, retry=retry, per_page=100,
            seconds_between_requests=None, seconds_between_writes=None, lazy=True,
        )
        self.cache = ConditionalCache()

    def close(self) -> None:
        self.gh.close()

    def get(self, url: str, params: dict[str, Any] | None = None) -> Answer:
        """A conditional GET of `url` (a path under the API, or a full URL GitHub gave):
        If-None-Match with the ETag of the answer kept for it; a 304 returns the kept
        answer (`not_modified`). Raises GithubException (or a network error): call it
        inside `call`."""
        requester = self.gh.requester
        key = ConditionalCache.key(url, params)
        etag = self.cache.etag(key)
        status, headers, body = requester.requestJson(
            "GET", url, parameters=params or None,
            headers={"If-None-Match": etag} if etag else None)
        if status == 304:
            kept = self.cache.reuse(key, headers)
            if kept is not None:
                return kept
            # Evicted meanwhile (another thread): ask again unconditionally.
            status, headers, body = requester.requestJson("GET", url,
                                                          parameters=params or None)
        data = json.loads(body) if body else None
        if status >= 400:
            raise requester.createException(
                status, headers, data if isinstance(data, dict) else {"message": str(data)})
        answer = Answer(data, headers)
        self.cache.keep(key, headers.get("etag"), answer)
        return answer

    def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """The `data` of a GraphQL query. HTTP errors (401, 403 secondary rate limit, 5xx)
        raise GithubException as the REST calls do (call it inside `call`); errors in the
        answer's `errors` array (HTTP 200) become: RATE_LIMITED → RateLimited (reset from
        `X-RateLimit-Reset`), NOT_FOUND → UnknownObjectException (→ NotFound in `call`),
        any other → PermanentError with GitHub's message."""
        requester = self.gh.requester
        headers, data = requester.requestJsonAndCheck(
            "POST", requester.graphql_url, input={"query": query, "variables": variables})
        errors = (data or {}).get("errors") if isinstance(data, dict) else None
        if errors:
            types = {str(e.get("type") or "") for e in errors if isinstance(e, dict)}
            text = "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict))
            where = f"GitHub GraphQL ({self.api_url})"  # for the log: a PermanentError
            if "RATE_LIMITED" in types:
                raise _rate_limited("GitHub rate limit exceeded", headers)
            if "NOT_FOUND" in types:
                raise UnknownObjectException(404, data, headers)
            raise PermanentError(f"{where} refused the query: {text[:300]}")
        if not isinstance(data, dict) or not isinstance(data.get("data"), dict):
            raise RetryableError("GitHub's GraphQL API gave no data")  # told: try again
        result: dict[str, Any] = data["data"]
        return result

    def repo(self, repository: str) -> Repository:
        return self.gh.get_repo(repository)  # lazy (Github(lazy=True)): no request

    def call(self, repository: str, fn: Callable[[], T]) -> T:
        """`fn()`, with every PyGithub or network error turned into one of deploybot's. A
        RetryableError is shown to the user as it is ("GitHub answered 502"; the reply adds
        "try again"): it does not name the API's URL, which a PermanentError (logged, with a
        reference for the user) does."""
        where = f"GitHub ({self.api_url})"
        try:
            return fn()
        except RateLimitExceededException as e:
            raise _rate_limited("GitHub rate limit exceeded", e.headers) from e
        except BadCredentialsException as e:
            raise PermanentError(
                f"{where} refused the token (401 Bad credentials): set GITHUB_TOKEN to a "
                "valid token") from e
        except UnknownObjectException as e:
            raise NotFound(f"GitHub repository `{repository}` not found (or GITHUB_TOKEN "
                           "cannot see it); check services.<name>.github.repository in "
                           "app.yaml") from e
        except GithubException as e:
            if e.status == 403:
                headers = e.headers or {}
                # A primary limit used up, or a secondary one (GitHub's rate limit docs:
                # 403 or 429, with `retry-after` or a "secondary rate limit" message).
                if (headers.get("x-ratelimit-remaining") == "0" or "retry-after" in headers
                        or "rate limit" in str(e).lower()):
                    raise _rate_limited("GitHub rate limit exceeded", headers) from e
                scopes = headers.get("x-accepted-oauth-scopes") or headers.get(
                    "x-accepted-github-permissions")
                need = (f"it needs {scopes}" if scopes else
                        "it needs read access to the repository's contents (classic token: "
                        "`repo` scope; fine-grained: Contents: read)")
                raise PermanentError(f"{where} refused access to `{repository}` (403): {need}"
                                     ) from e
            if e.status == 429:
                raise _rate_limited("GitHub rate limit exceeded (429)", e.headers) from e
            if e.status >= 500 or e.status == 408:
                raise RetryableError(f"GitHub answered {e.status}") from e
            raise PermanentError(f"{where} answered {e.status} for `{repository}`: "
                                 f"{_message(e)}") from e
        except requests.RequestException as e:
            raise RetryableError(f"GitHub is unreachable ({type(e).__name__})") from e


def _message(e: GithubException) -> str:
    data = e.data
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])
    return str(data)[:200]


def _rate_limited(text: str, headers: dict[str, str] | None) -> RateLimited:
    """RateLimited saying (and carrying) when to ask again: `X-RateLimit-Reset` (epoch
    seconds), else `Retry-After` (seconds)."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    raw = headers.get("x-ratelimit-reset")
    if raw is not None and raw.isdigit():
        when = datetime.fromtimestamp(int(raw), tz=UTC)
        return RateLimited(f"{text} (it resets at {when:%H:%M} UTC)", reset_at=when)
    after = headers.get("retry-after")
    if after is not None and after.isdigit():
        return RateLimited(f"{text} (retry after {int(after)} s)",
                           retry_after=timedelta(seconds=int(after)))
    return RateLimited(text)
