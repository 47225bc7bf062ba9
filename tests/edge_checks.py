"""What the edge tests check after a hostile request: every row of every table unchanged,
and no traceback in any log (uvicorn's included: its loggers do not propagate to the root)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import select

from bot.store.models import Base
from tests.conftest import RunningBot


def db_state(bot: RunningBot) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (once the record of acknowledged requests, written and
    forgotten on a thread of its own, has caught up)."""
    assert bot.container.acknowledged.wait_idle(10), "the acknowledged requests' recorder"
    with bot.container.database.engine.connect() as conn:
        return {t.name: sorted((tuple(r) for r in conn.execute(select(t))), key=repr)
                for t in Base.metadata.sorted_tables}


@contextmanager
def every_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """`caplog` at INFO with uvicorn's records too."""
    caplog.set_level(logging.INFO)
    uvicorn_logger = logging.getLogger("uvicorn")
    uvicorn_logger.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        uvicorn_logger.removeHandler(caplog.handler)


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.exc_info]
