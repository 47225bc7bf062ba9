"""The `/migrations` and `/migrate` text parsers: every accepted form, and each bad input
with its own message (followed by the command's usage)."""

from __future__ import annotations

import pytest

from bot.domain.migration_commands import (
    MAX_TEXT,
    MIGRATE_USAGE,
    MIGRATIONS_USAGE,
    MigrateArgs,
    MigrateHelpArgs,
    MigrateUsageError,
    MigrationsHelpArgs,
    MigrationsStatusArgs,
    MigrationsUsageError,
    parse_migrate,
    parse_migrations,
)
from bot.errors import UserError

ENVIRONMENTS = ("development", "staging", "production")
SERVICES = ("api", "web", "worker")  # worker has no migrations
# api migrates everywhere; web only deploys to production
WITH_MIGRATIONS = {"api": ENVIRONMENTS, "web": ("production",)}


def status(text: str, with_migrations: dict[str, tuple[str, ...]] = WITH_MIGRATIONS):
    return parse_migrations(text, environments=ENVIRONMENTS,
                            services_with_migrations=with_migrations, services=SERVICES)


def migrate(text: str, with_migrations: dict[str, tuple[str, ...]] = WITH_MIGRATIONS):
    return parse_migrate(text, environments=ENVIRONMENTS,
                         services_with_migrations=with_migrations, services=SERVICES)


# -- /migrations ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("production api", MigrationsStatusArgs("production", "api")),
        ("production web", MigrationsStatusArgs("production", "web")),
        ("  staging   api ", MigrationsStatusArgs("staging", "api")),
        # only api has migrations in staging: the service may be left out
        ("staging", MigrationsStatusArgs("staging", "api")),
        ("development", MigrationsStatusArgs("development", "api")),
        ("help", MigrationsHelpArgs()),
        (" help ", MigrationsHelpArgs()),
    ],
)
def test_migrations_accepted_forms(text: str, expected: object) -> None:
    assert status(text) == expected


def test_migrations_services_default_to_those_with_migrations() -> None:
    args = parse_migrations("production api", environments=ENVIRONMENTS,
                            services_with_migrations={"api": ["production"]})
    assert args == MigrationsStatusArgs("production", "api")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "Which environment? e.g. `/migrations production`."),
        ("   ", "Which environment? e.g. `/migrations production`."),
        ("prod", "Unknown environment `prod`. Known environments: `development`, "
                 "`production`, `staging`."),
        ("prod api", "Unknown environment `prod`. Known environments: `development`, "
                     "`production`, `staging`."),
        ("api production", "Put the environment first: `/migrations production api`."),
        ("production apii", "Unknown service `apii`. Known services: `api`, `web`, `worker`."),
        ("production worker", "`worker` has no database migrations configured (set "
                              "`services.worker.migrations` in app.yaml)."),
        ("staging web", "`web` is not deployed to `staging` (it deploys to `production`)."),
        ("production", "Which service? Name one of `api`, `web` after the environment, e.g. "
                       "`/migrations production api`."),
        ("production api extra", "Too many words: `extra` was not expected."),
        ("production api --verbose", "Unknown option `--verbose`: `/migrations` takes no "
                                     "options."),
        ("production a<b>", "`a&lt;b&gt;` is not a name: only letters, digits and "
                            "`. _ + -` are allowed."),
        ("production `api`", "`'api'` is not a name: only letters, digits and `. _ + -` "
                             "are allowed."),
    ],
)
def test_migrations_bad_input_names_the_problem(text: str, problem: str) -> None:
    with pytest.raises(MigrationsUsageError) as e:
        status(text)
    assert e.value.problem == problem
    assert e.value.message == f"{problem}\n\n{MIGRATIONS_USAGE}"
    assert isinstance(e.value, UserError)


def test_migrations_no_service_with_migrations_in_that_environment() -> None:
    with pytest.raises(MigrationsUsageError) as e:
        status("staging", {"web": ("production",)})
    assert e.value.problem == ("No service has database migrations configured in `staging` "
                               "(set `services.&lt;name&gt;.migrations` in app.yaml).")


def test_migrations_text_too_long() -> None:
    with pytest.raises(MigrationsUsageError) as e:
        status("production " + "a" * MAX_TEXT)
    assert e.value.problem == (f"That command is {MAX_TEXT + 11} characters long; the limit "
                               f"is {MAX_TEXT}.")


def test_migrations_usage_escapes_angle_brackets() -> None:
    assert "<" not in MIGRATIONS_USAGE and ">" not in MIGRATIONS_USAGE
    assert "<" not in MIGRATE_USAGE and ">" not in MIGRATE_USAGE


# -- /migrate ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("production api orders 0042_previous",
         MigrateArgs("production", "api", ("orders", "0042_previous"))),
        ("production web orders zero", MigrateArgs("production", "web", ("orders", "zero"))),
        ("production api zero", MigrateArgs("production", "api", ("zero",))),
        # alembic-style revisions and Django app labels with dots, colons, plus signs
        ("production api ae1027a6acf", MigrateArgs("production", "api", ("ae1027a6acf",))),
        ("production api my.app 0001:init+x-y",
         MigrateArgs("production", "api", ("my.app", "0001:init+x-y"))),
        # only api has migrations in staging: the service may be left out
        ("staging orders 0042_previous",
         MigrateArgs("staging", "api", ("orders", "0042_previous"))),
        ("staging zero", MigrateArgs("staging", "api", ("zero",))),
        ("  staging  api   orders  0041 ", MigrateArgs("staging", "api", ("orders", "0041"))),
        ("production api orders " + "x" * 64, MigrateArgs("production", "api",
                                                          ("orders", "x" * 64))),
        ("help", MigrateHelpArgs()),
    ],
)
def test_migrate_accepted_forms(text: str, expected: object) -> None:
    assert migrate(text) == expected


EXAMPLE = "`/migrate production api orders 0042_previous`"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", f"Which environment, and which migration to go back to? e.g. {EXAMPLE}."),
        ("prod api orders 0042", "Unknown environment `prod`. Known environments: "
                                 "`development`, `production`, `staging`."),
        ("api production orders 0042", "Put the environment first: `/migrate production api "
                                       "…`."),
        ("production worker orders 0042", "`worker` has no database migrations configured "
                                          "(set `services.worker.migrations` in app.yaml)."),
        ("staging web orders 0042", "`web` is not deployed to `staging` (it deploys to "
                                    "`production`)."),
        ("production orders 0042", "Which service? Name one of `api`, `web` after the "
                                   "environment, e.g. `/migrate production api orders "
                                   "0042_previous`."),
        # missing target
        ("production api", "Which migration should `api` go back to? e.g. `/migrate production "
                           "api orders 0042_previous`, or `… orders zero` to unapply all of an "
                           "app's migrations."),
        ("staging", "Which migration should `api` go back to? e.g. `/migrate staging api "
                    "orders 0042_previous`, or `… orders zero` to unapply all of an app's "
                    "migrations."),
        # too many words
        ("production api orders 0042 now", "Too many words: `now` was not expected (the "
                                           "target is at most 2 words, e.g. `orders "
                                           "0042_previous`)."),
        ("staging orders 0042 0043", "Too many words: `0043` was not expected (the target is "
                                     "at most 2 words, e.g. `orders 0042_previous`)."),
        # bad characters, options, long words
        ("production api orders 0042;rm", "`0042;rm` has characters that are not allowed: only "
                                          "letters, digits and `_ . : + -`."),
        ("production api orders/0042", "`orders/0042` has characters that are not allowed: "
                                       "only letters, digits and `_ . : + -`."),
        ("production api <!channel>", "`&lt;!channel&gt;` has characters that are not allowed: "
                                      "only letters, digits and `_ . : + -`."),
        ("production api orders 0042 --fake", f"Options are not accepted (`--fake`): name the "
                                              f"migration to go back to, e.g. {EXAMPLE}."),
        ("production api -1", f"Options are not accepted (`-1`): name the migration to go "
                              f"back to, e.g. {EXAMPLE}."),
        ("production api orders " + "x" * 65, f"`{'x' * 39}…` is 65 characters long; the limit "
                                              "is 64 per word."),
    ],
)
def test_migrate_bad_input_names_the_problem(text: str, problem: str) -> None:
    with pytest.raises(MigrateUsageError) as e:
        migrate(text)
    assert e.value.problem == problem
    assert e.value.message == f"{problem}\n\n{MIGRATE_USAGE}"


def test_migrate_unknown_service_is_not_taken_for_a_target_when_several_have_migrations() -> None:
    with pytest.raises(MigrateUsageError) as e:
        migrate("production apii orders 0042")
    assert e.value.problem.startswith("Which service? Name one of `api`, `web`")


def test_migrate_text_too_long() -> None:
    with pytest.raises(MigrateUsageError) as e:
        migrate("production api orders " + "a" * MAX_TEXT)
    assert e.value.problem == (f"That command is {MAX_TEXT + 22} characters long; the limit "
                               f"is {MAX_TEXT}.")


def test_migrate_no_service_with_migrations_in_that_environment() -> None:
    with pytest.raises(MigrateUsageError) as e:
        migrate("staging orders 0042", {"web": ("production",)})
    assert e.value.problem == ("No service has database migrations configured in `staging` "
                               "(set `services.&lt;name&gt;.migrations` in app.yaml).")
