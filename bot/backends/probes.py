"""HTTP checks after a rollout: smoke URLs and a Prometheus instant query (the Probes port).

Imports httpx (with the PagerDuty backend; an import-linter contract keeps the rest out),
on the first check rather than at import: a process whose environments have no HTTP checks
(a web process, mostly) never loads it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx


class HttpProbes:
    def __init__(self, *, timeout: float = 10.0, transport: httpx.BaseTransport | None = None
                 ) -> None:
        self._timeout = timeout
        self._transport = transport

    def _client(self) -> httpx.Client:
        import httpx

        return httpx.Client(timeout=self._timeout, follow_redirects=False,
                            transport=self._transport)

    def smoke(self, url: str, *, expect_status: int) -> str | None:
        import httpx

        try:
            with self._client() as c:
                resp = c.get(url)
        except httpx.HTTPError as e:
            return f"smoke check GET {url} failed: {type(e).__name__}: {e}"
        if resp.status_code != expect_status:
            return (f"smoke check GET {url} answered {resp.status_code}, expected "
                    f"{expect_status}")
        return None

    def prometheus(self, url: str, query: str, *, max_value: float) -> tuple[str | None, str]:
        import httpx

        endpoint = url.rstrip("/") + "/api/v1/query"
        try:
            with self._client() as c:
                resp = c.get(endpoint, params={"query": query})
            data: Any = resp.json()
        except httpx.HTTPError as e:
            return f"Prometheus query at {endpoint} failed: {type(e).__name__}: {e}", ""
        except ValueError:
            return (f"Prometheus at {endpoint} answered {resp.status_code} without JSON", "")
        if resp.status_code != 200 or not isinstance(data, dict) \
                or data.get("status") != "success":
            error = data.get("error") if isinstance(data, dict) else None
            return (f"Prometheus query `{query}` failed: {resp.status_code} "
                    f"{error or 'unexpected answer'}", "")
        try:
            values = _values(data.get("data") or {})
        except (TypeError, ValueError, KeyError, IndexError):
            return f"Prometheus query `{query}` returned a result deploybot cannot read", ""
        if not values:
            return None, f"`{query}` returned no data"
        worst = max(values, key=lambda v: (not math.isnan(v), v))
        seen = f"`{query}` = {worst:g} (max {max_value:g})"
        if math.isnan(worst) or worst > max_value:
            return f"Prometheus: {seen}", seen
        return None, seen


def _values(data: dict[str, Any]) -> list[float]:
    """The numbers in an instant query's result (scalar, vector or a single sample)."""
    kind = data.get("resultType")
    result = data.get("result")
    if kind in ("scalar", "string"):
        return [float(result[1])] if result else []
    if kind == "vector":
        return [float(sample["value"][1]) for sample in result or []]
    raise ValueError(f"unsupported resultType {kind!r}")
