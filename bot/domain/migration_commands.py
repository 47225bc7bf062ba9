"""Parsing the text of `/migrations` and `/migrate` (pure: no config objects, no I/O).

Accepted forms (the service may be left out when exactly one service with database
migrations deploys to that environment):
    /migrations <environment> [service]           the migration status (`showmigrations`)
    /migrations help
    /migrate <environment> [service] <target…>    roll back to a named migration, e.g.
    /migrate production api orders 0042_previous  (target: 1 or 2 words; `zero` is one)
    /migrate help

The names the parsers check against are passed in: every environment, every service with
`migrations` configured and the environments it deploys to, and (to tell "no migrations
configured" from "unknown") every configured service.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from bot.domain.text import shown
from bot.errors import CommandUsageError

MAX_TEXT = 500
MAX_TARGET_WORDS = 2
MAX_TARGET_WORD = 64
# `&lt;` `&gt;`: Slack reads a bare <…> as a link or mention
MIGRATIONS_USAGE = (
    "*Usage*\n"
    "• `/migrations &lt;environment&gt;` — e.g. `/migrations production`, when one service "
    "has migrations there\n"
    "• `/migrations &lt;environment&gt; &lt;service&gt;` — e.g. `/migrations production api`\n"
    "• `/migrations help` — this message\n"
    "It runs the service's migration status command (e.g. `showmigrations`) as a one-off Job "
    "from the version running in that environment; it needs the environment's deployers role."
)
MIGRATE_USAGE = (
    "*Usage*\n"
    "• `/migrate &lt;environment&gt; [service] &lt;target&gt;` — roll the database back to "
    "a named migration, e.g. `/migrate production api orders 0042_previous`\n"
    "• `/migrate &lt;environment&gt; [service] &lt;app&gt; zero` — unapply all of an app's "
    "migrations\n"
    "• `/migrate help` — this message\n"
    f"The target is 1 to {MAX_TARGET_WORDS} words of letters, digits and `_ . : + -` "
    f"(at most {MAX_TARGET_WORD} characters each); the service may be left out when only one "
    "has migrations in that environment."
)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_TARGET_CHARS = re.compile(r"^[A-Za-z0-9_.:+-]+$")


class MigrationsUsageError(CommandUsageError):
    """Bad `/migrations` text."""

    usage = MIGRATIONS_USAGE


class MigrateUsageError(MigrationsUsageError):
    """Bad `/migrate` text; the message names the problem, then shows the usage."""

    usage = MIGRATE_USAGE


@dataclass(frozen=True)
class MigrationsStatusArgs:
    environment: str
    service: str


@dataclass(frozen=True)
class MigrationsHelpArgs:
    pass


@dataclass(frozen=True)
class MigrateArgs:
    """Roll `service`'s database in `environment` back to `target` (1 or 2 words, e.g.
    ("orders", "0042_previous") or ("orders", "zero"))."""

    environment: str
    service: str
    target: tuple[str, ...]


@dataclass(frozen=True)
class MigrateHelpArgs:
    pass


MigrationsParsed = MigrationsStatusArgs | MigrationsHelpArgs
MigrateParsed = MigrateArgs | MigrateHelpArgs


def _names(names: Collection[str]) -> str:
    return ", ".join(f"`{n}`" for n in sorted(names)) or "none"


@dataclass(frozen=True)
class _Known:
    environments: Collection[str]
    with_migrations: Mapping[str, Collection[str]]  # service -> environments it deploys to
    services: Collection[str]
    error: type[MigrationsUsageError]
    command: str

    def environment(self, word: str, rest: list[str]) -> str:
        if word in self.environments:
            return word
        if word in self.services and rest and rest[0] in self.environments:
            raise self.error(f"Put the environment first: `{self.command} {rest[0]} {word}"
                             + ("" if len(rest) == 1 else " …") + "`.")
        raise self.error(f"Unknown environment {shown(word)}. Known environments: "
                         f"{_names(self.environments)}.")

    def in_environment(self, environment: str) -> list[str]:
        return sorted(s for s, envs in self.with_migrations.items() if environment in envs)

    def service(self, word: str, environment: str) -> str:
        if word not in self.services:
            raise self.error(f"Unknown service {shown(word)}. Known services: "
                             f"{_names(self.services)}.")
        if word not in self.with_migrations:
            raise self.error(f"`{word}` has no database migrations configured (set "
                             f"`services.{word}.migrations` in app.yaml).")
        if environment not in self.with_migrations[word]:
            raise self.error(f"`{word}` is not deployed to `{environment}` (it deploys to "
                             f"{_names(self.with_migrations[word])}).")
        return word

    def only_service(self, environment: str, example: str) -> str:
        candidates = self.in_environment(environment)
        if not candidates:
            raise self.error(f"No service has database migrations configured in "
                             f"`{environment}` (set `services.&lt;name&gt;.migrations` in "
                             "app.yaml).")
        if len(candidates) > 1:
            raise self.error(f"Which service? Name one of {_names(candidates)} after the "
                             f"environment, e.g. `{self.command} {environment} "
                             f"{candidates[0]}{example}`.")
        return candidates[0]


def _known(environments: Collection[str], services_with_migrations: Mapping[str, Collection[str]],
           services: Collection[str], error: type[MigrationsUsageError], command: str) -> _Known:
    return _Known(environments, services_with_migrations,
                  set(services) | set(services_with_migrations), error, command)


def _words(text: str, error: type[MigrationsUsageError], what: str) -> list[str]:
    if len(text) > MAX_TEXT:
        raise error(f"That command is {len(text)} characters long; the limit is {MAX_TEXT}.")
    words = text.split()
    if not words:
        raise error(what)
    return words


def parse_migrations(
    text: str,
    *,
    environments: Collection[str],
    services_with_migrations: Mapping[str, Collection[str]],
    services: Collection[str] = (),
) -> MigrationsParsed:
    """Parse `/migrations` text; raise `MigrationsUsageError` with the reason.

    `services_with_migrations`: each service with `migrations` configured → the environments
    it deploys to; `services`: every configured service (default: those)."""
    known = _known(environments, services_with_migrations, services, MigrationsUsageError,
                   "/migrations")
    words = _words(text, MigrationsUsageError,
                   "Which environment? e.g. `/migrations production`.")
    if words == ["help"]:
        return MigrationsHelpArgs()
    for w in words:
        if w.startswith("-"):
            raise MigrationsUsageError(f"Unknown option {shown(w)}: `/migrations` takes no "
                                       "options.")
        if not _NAME.match(w):
            raise MigrationsUsageError(f"{shown(w)} is not a name: only letters, digits and "
                                       "`. _ + -` are allowed.")
    environment = known.environment(words[0], words[1:])
    if len(words) > 2:
        raise MigrationsUsageError(f"Too many words: {shown(' '.join(words[2:]))} was not "
                                   "expected.")
    if len(words) == 2:
        return MigrationsStatusArgs(environment, known.service(words[1], environment))
    return MigrationsStatusArgs(environment, known.only_service(environment, ""))


def parse_migrate(
    text: str,
    *,
    environments: Collection[str],
    services_with_migrations: Mapping[str, Collection[str]],
    services: Collection[str] = (),
) -> MigrateParsed:
    """Parse `/migrate` text; raise `MigrateUsageError` with the reason. The arguments mean
    what they mean for `parse_migrations`.

    The second word is the service when it names a configured service; otherwise the service
    is left out and every word after the environment is the target."""
    known = _known(environments, services_with_migrations, services, MigrateUsageError,
                   "/migrate")
    example = "`/migrate production api orders 0042_previous`"
    words = _words(text, MigrateUsageError,
                   f"Which environment, and which migration to go back to? e.g. {example}.")
    if words == ["help"]:
        return MigrateHelpArgs()
    for w in words:
        if w.startswith("-"):
            raise MigrateUsageError(f"Options are not accepted ({shown(w)}): name the "
                                    f"migration to go back to, e.g. {example}.")
        if not _TARGET_CHARS.match(w):
            raise MigrateUsageError(f"{shown(w)} has characters that are not allowed: only "
                                    "letters, digits and `_ . : + -`.")
        if len(w) > MAX_TARGET_WORD:
            raise MigrateUsageError(f"{shown(w)} is {len(w)} characters long; the limit is "
                                    f"{MAX_TARGET_WORD} per word.")
    environment = known.environment(words[0], words[1:])
    rest = words[1:]
    if rest and rest[0] in known.services:
        service = known.service(rest[0], environment)
        target = rest[1:]
    else:
        service = known.only_service(environment, " orders 0042_previous")
        target = rest
    if not target:
        raise MigrateUsageError(f"Which migration should `{service}` go back to? e.g. "
                                f"`/migrate {environment} {service} orders 0042_previous`, "
                                f"or `… orders zero` to unapply all of an app's migrations.")
    if len(target) > MAX_TARGET_WORDS:
        extra = " ".join(target[MAX_TARGET_WORDS:])
        raise MigrateUsageError(f"Too many words: {shown(extra)} was not expected (the target "
                                f"is at most {MAX_TARGET_WORDS} words, e.g. `orders "
                                "0042_previous`).")
    return MigrateArgs(environment=environment, service=service, target=tuple(target))
