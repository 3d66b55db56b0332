"""CircuitBreaker: closed, open after N consecutive failures, one trial when half-open."""

from __future__ import annotations

import threading

import pytest

from errorbook.client import CircuitBreaker


def trip(breaker: CircuitBreaker, host: str, now: float = 0.0) -> None:
    for _ in range(breaker.failures):
        breaker.failure(host, now)


class TestStates:
    def test_opens_after_n_consecutive_failures(self) -> None:
        breaker = CircuitBreaker(failures=3, cool_down=10.0)
        for _ in range(2):
            breaker.failure("a", 0.0)
        assert breaker.state("a", 0.0) == "closed"
        assert breaker.admit("a", 0.0).allowed
        breaker.failure("a", 1.0)
        assert breaker.state("a", 1.0) == "open"
        refused = breaker.admit("a", 4.0)
        assert (refused.allowed, refused.trial) == (False, False)
        assert refused.retry_in == pytest.approx(7.0)
        assert breaker.retry_in("a", 4.0) == pytest.approx(7.0)

    def test_a_success_resets_the_count(self) -> None:
        """Failures must be consecutive: one answer in between starts the count again."""
        breaker = CircuitBreaker(failures=3)
        breaker.failure("a", 0.0)
        breaker.failure("a", 0.0)
        breaker.success("a")
        breaker.failure("a", 0.0)
        breaker.failure("a", 0.0)
        assert breaker.state("a", 0.0) == "closed"

    def test_half_open_lets_exactly_one_trial_through(self) -> None:
        breaker = CircuitBreaker(failures=1, cool_down=10.0)
        trip(breaker, "a")
        assert breaker.state("a", 10.0) == "half-open"
        assert breaker.retry_in("a", 10.0) == 0.0
        trial = breaker.admit("a", 10.0)
        assert (trial.allowed, trial.trial) == (True, True)
        other = breaker.admit("a", 10.5)
        assert other.allowed is False
        assert other.retry_in == 10.0  # no sooner than a failed trial's cool-down
        assert breaker.retry_in("a", 10.5) == 10.0

    def test_trial_success_closes(self) -> None:
        breaker = CircuitBreaker(failures=1, cool_down=10.0)
        trip(breaker, "a")
        assert breaker.admit("a", 12.0).trial
        breaker.success("a", trial=True)
        assert breaker.state("a", 12.0) == "closed"
        assert breaker.admit("a", 12.0).allowed
        assert len(breaker._hosts) == 0  # a healthy host costs no memory

    def test_trial_failure_reopens_for_a_new_cool_down(self) -> None:
        breaker = CircuitBreaker(failures=2, cool_down=10.0)
        trip(breaker, "a")
        assert breaker.admit("a", 10.0).trial
        breaker.failure("a", 11.0, trial=True)
        assert breaker.state("a", 20.0) == "open"
        assert breaker.admit("a", 20.0).retry_in == pytest.approx(1.0)
        assert breaker.admit("a", 21.0).trial  # the next trial, one cool-down later

    def test_abandoned_trial_frees_the_slot(self) -> None:
        breaker = CircuitBreaker(failures=1, cool_down=5.0)
        trip(breaker, "a")
        assert breaker.admit("a", 5.0).trial
        breaker.abandon("a")
        assert breaker.state("a", 5.0) == "half-open"
        assert breaker.admit("a", 5.0).trial

    def test_stale_outcomes_do_not_move_an_open_circuit(self) -> None:
        """Requests sent before the circuit opened may still end: a success among them
        does not close it, and failures do not extend the cool-down; only the trial
        decides."""
        breaker = CircuitBreaker(failures=1, cool_down=10.0)
        trip(breaker, "a", now=0.0)
        breaker.success("a")
        breaker.failure("a", 8.0)
        assert breaker.state("a", 9.0) == "open"
        assert breaker.state("a", 10.0) == "half-open"

    def test_hosts_are_separate(self) -> None:
        breaker = CircuitBreaker(failures=1)
        trip(breaker, "a")
        assert breaker.state("a", 0.0) == "open"
        assert breaker.state("b", 0.0) == "closed"

    def test_zero_cool_down_goes_straight_to_half_open(self) -> None:
        breaker = CircuitBreaker(failures=1, cool_down=0.0)
        trip(breaker, "a")
        assert breaker.admit("a", 0.0).trial


class TestMemory:
    def test_least_recently_failing_host_is_forgotten(self) -> None:
        breaker = CircuitBreaker(failures=1, max_hosts=2)
        trip(breaker, "a")
        trip(breaker, "b")
        breaker.failure("a", 0.0)  # touches "a"
        trip(breaker, "c")
        assert breaker.state("b", 0.0) == "closed"  # forgotten, so closed
        assert breaker.state("a", 0.0) == "open"
        assert breaker.state("c", 0.0) == "open"

    def test_a_flood_of_hosts_stays_bounded(self) -> None:
        breaker = CircuitBreaker(max_hosts=8)
        for number in range(5000):
            breaker.failure(f"h{number}", 0.0)
        assert len(breaker._hosts) == 8


class TestThreads:
    def test_one_trial_among_many_threads(self) -> None:
        """Sixteen threads ask a half-open circuit at once: exactly one gets the trial."""
        breaker = CircuitBreaker(failures=1, cool_down=1.0)
        trip(breaker, "a")
        start = threading.Barrier(16)
        admitted: list[bool] = []

        def worker() -> None:
            start.wait()
            admitted.append(breaker.admit("a", 5.0).allowed)

        threads = [threading.Thread(target=worker) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert admitted.count(True) == 1


class TestValidation:
    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"failures": 0}, "failures"),
            ({"failures": True}, "failures"),
            ({"cool_down": -1}, "cool_down"),
            ({"cool_down": float("inf")}, "cool_down"),
            ({"max_hosts": 0}, "max_hosts"),
        ],
    )
    def test_bad_arguments(self, kwargs: dict[str, object], message: str) -> None:
        with pytest.raises(ValueError, match=message):
            CircuitBreaker(**kwargs)  # type: ignore[arg-type]

    def test_repr(self) -> None:
        assert (
            repr(CircuitBreaker()) == "CircuitBreaker(failures=5, cool_down=30.0, max_hosts=1024)"
        )
