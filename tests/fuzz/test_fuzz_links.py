"""Links (bot/domain/links.py, bot/presentation/link_views.py), pure: any text as a
template is either accepted or refused with a reason, never another exception; whatever a
service, environment or version holds, filling it in keeps the URL's scheme, host and path
(the value is URL-encoded), and the Slack link made of it is one link: `<url|text>` with
nothing in the URL that ends it early."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.links import LinkCatalog, template_problem
from bot.presentation.link_views import links_line, slack_link
from tests.fuzz.profiles import scaled

EXAMPLES = scaled(0.8)
values = st.text(min_size=1, max_size=60)
TEMPLATES = {
    "dashboard": "https://grafana.acme.test/d/x/{service}?env={environment}&v={version}",
    "runbook": "https://runbooks.internal.com/{service}|{environment}",
    "logs": "http://{environment}.logs.acme.test:8080/q#version={version}",
}
ONE_LINK = re.compile(r"^<[^|<>\s]+\|[^<>]*>$")


@settings(max_examples=EXAMPLES)
@given(template=st.text(max_size=120))
def test_any_template_is_accepted_or_refused_with_a_reason(template: str) -> None:
    problem = template_problem(template)
    assert problem is None or problem.strip()


@settings(max_examples=EXAMPLES)
@given(service=values, environment=values, version=values)
def test_filled_in_values_never_change_the_urls_structure(
        service: str, environment: str, version: str) -> None:
    catalog = LinkCatalog(services={service: TEMPLATES})
    links = catalog.resolve(service, environment, version)
    dashboard, runbook, logs = links
    parts = urlsplit(dashboard.url)
    assert (parts.scheme, parts.netloc) == ("https", "grafana.acme.test")
    assert parts.path.startswith("/d/x/") and unquote(parts.path[5:]) == service
    assert parts.query.count("&") == 1 and not parts.fragment
    assert urlsplit(runbook.url).netloc == "runbooks.internal.com"
    assert urlsplit(logs.url).scheme == "http"
    assert unquote(urlsplit(logs.url).fragment) == f"version={version}"
    for link in links:
        assert ONE_LINK.match(slack_link(link.url, link.label)), link
    assert links_line(links).count(" · ") == 2
