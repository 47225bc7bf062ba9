"""Which text is a secret, once for every place deploybot writes text down or sends it on:
the audit log (bot.domain.audit's `redact`), the process's own log lines (bot.logs'
`Redactor`) and the pod logs `/logs` posts to Slack (bot.services.logs). Pure, standard
library only, below every other layer.

What is masked: Slack, GitHub, GitLab, npm, AWS and Google tokens, JWTs, bearer/basic/token
credentials, `key=value` / `key: value` / `"key": "value"` secrets (password, passwd, pwd,
secret, token, api key, access key, private key, credentials, auth, in any case and with any
prefix, e.g. `DB_PASSWORD`, `aws_secret_access_key`), passwords in URLs
(`postgres://user:pw@host`) and PEM private keys (also one cut off before its END line). What
is kept (a prefix, the key's name) says what kind of secret it was. Each pattern runs only
when one of its literal hints is in the (lower-cased) text: most text has none.
"""

from __future__ import annotations

import re

#: (hints, pattern, replacement with `{mask}` where the secret was)
_SECRETS: tuple[tuple[tuple[str, ...], re.Pattern[str], str], ...] = (
    (("private key",),
     re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)",
                re.S), "-----BEGIN PRIVATE KEY-----{mask}"),
    (("xox", "xapp-"), re.compile(r"\b(xox[abeoprs]|xapp|xoxe\.xox[bp])-[A-Za-z0-9-]+"),
     r"\1-{mask}"),
    (("gh", "github_pat_", "glpat-", "npm_"),
     re.compile(r"\b(gh[pousr]_|github_pat_|glpat-|npm_)[A-Za-z0-9_]{8,}"), r"\1{mask}"),
    (("akia", "asia"), re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{12,}"), r"\1{mask}"),
    (("aiza",), re.compile(r"\bAIza[0-9A-Za-z_-]{20,}"), "AIza{mask}"),
    (("eyj",), re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
     "eyJ{mask}"),
    (("bearer", "basic", "token"),
     re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 {mask}"),
    # A password in a URL (before key=value: `https://x-access-token:…@host` is a URL)
    (("://",), re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+):[^@\s/]+@"),
     r"\1:{mask}@"),
    # key=value, key: value, "key": "value" (JSON), 'key' => 'value'; the value quoted
    # (spaces and all) or up to the next space, comma, semicolon, brace or quote; the key
    # whole (not the tail of a longer word) and not a URL's user name.
    (("pass", "pwd", "secret", "token", "key", "credential", "auth"),
     re.compile(r"(?i)(?<![\w.-])(?<!//)([\w.-]*(?:password|passwd|pwd|secret|token"
                r"|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credentials?|auth))([\"']?\s*(?:=>?|:)\s*)"
                r"(\"[^\"]*\"|'[^']*'|[^\s,;}\"']+)"), r"\1\2{mask}"),
)

#: The patterns with their replacement for one mask, compiled once per mask.
_BY_MASK: dict[str, tuple[tuple[tuple[str, ...], re.Pattern[str], str], ...]] = {}


def _table(mask: str) -> tuple[tuple[tuple[str, ...], re.Pattern[str], str], ...]:
    table = _BY_MASK.get(mask)
    if table is None:
        escaped = mask.replace("\\", "\\\\")
        table = tuple((hints, pattern, repl.replace("{mask}", escaped))
                      for hints, pattern, repl in _SECRETS)
        _BY_MASK[mask] = table
    return table


def redact_secrets(text: str, mask: str) -> str:
    """`text` with everything that looks like a secret replaced by `mask` (its kind kept)."""
    low = text.lower()
    for hints, pattern, replacement in _table(mask):
        if any(h in low for h in hints):
            text = pattern.sub(replacement, text)
            low = text.lower()
    return text
