"""bot/scheduling/leader.py: the scheduler runs only while this process leads."""

from __future__ import annotations

import time

import pytest

from bot.scheduling.leader import LeaderElection


class Lock:
    """A Leadership whose answers the test sets."""

    def __init__(self) -> None:
        self.free = True
        self.alive = True
        self.released = 0

    def acquire(self) -> bool:
        return self.free

    def holds(self) -> bool:
        return self.alive

    def release(self) -> None:
        self.released += 1


def test_the_scheduler_runs_while_this_process_leads_and_pauses_when_it_no_longer_does(
        ) -> None:
    lock, calls = Lock(), []
    lock.free = False  # another process leads
    election = LeaderElection(lock, elected=lambda: calls.append("resume"),
                              deposed=lambda: calls.append("pause"), every=3600)
    election.start()
    assert not election.leads and calls == []
    lock.free = True  # the other one stopped or died
    assert election.step() and calls == ["resume"]
    assert election.step() and calls == ["resume"]  # still leads: nothing again
    lock.alive = False  # its session went away
    assert not election.step() and calls == ["resume", "pause"]
    lock.alive = True
    assert election.step() and calls == ["resume", "pause", "resume"]  # leads again
    election.stop()
    assert calls[-1] == "pause" and lock.released == 1
    assert not election.step()  # stopped: tries no more


def test_stopping_a_follower_releases_nothing() -> None:
    lock, calls = Lock(), []
    lock.free = False
    election = LeaderElection(lock, elected=lambda: calls.append("resume"),
                              deposed=lambda: calls.append("pause"), every=3600).start()
    election.stop()
    assert calls == [] and lock.released == 0


def test_a_failing_check_is_logged_and_tried_again(caplog: pytest.LogCaptureFixture) -> None:
    class Flaky(Lock):
        def acquire(self) -> bool:
            raise RuntimeError("database away")

    election = LeaderElection(Flaky(), elected=lambda: None, deposed=lambda: None,
                              every=0.01)
    with pytest.raises(RuntimeError):
        election.step()
    election._thread.start()  # the loop survives the same error
    deadline = time.monotonic() + 10
    while "leadership check failed" not in caplog.text:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    election.stop()
    assert not election._thread.is_alive()
