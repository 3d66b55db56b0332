"""RetryBudget: a per-host token bucket, capped, bounded in hosts, safe across threads."""

from __future__ import annotations

import threading

import pytest

from errorbook.client import RetryBudget


def spend_all(budget: RetryBudget, host: str) -> int:
    """Withdraw until refused; how many retries were allowed."""
    count = 0
    while budget.withdraw(host):
        count += 1
    return count


class TestBucket:
    def test_starts_full_at_the_minimum(self) -> None:
        """A host never seen gets ``minimum`` retries up front, then none."""
        budget = RetryBudget(ratio=0.2, minimum=3)
        assert budget.balance("a") == 3.0
        assert spend_all(budget, "a") == 3
        assert budget.balance("a") == pytest.approx(0.0)

    def test_first_attempts_buy_retries_at_the_ratio(self) -> None:
        """Five first attempts at 0.2 buy exactly one retry (float sums included)."""
        budget = RetryBudget(ratio=0.2, minimum=2)
        spend_all(budget, "a")
        for _ in range(4):
            budget.deposit("a")
        assert budget.withdraw("a") is False
        budget.deposit("a")
        assert budget.withdraw("a") is True
        assert budget.withdraw("a") is False

    def test_balance_never_exceeds_the_minimum(self) -> None:
        """A long healthy stretch does not bank a storm's worth of retries."""
        budget = RetryBudget(ratio=0.5, minimum=4)
        budget.withdraw("a")
        for _ in range(1000):
            budget.deposit("a")
        assert budget.balance("a") == 4.0
        assert spend_all(budget, "a") == 4

    def test_hosts_are_separate(self) -> None:
        budget = RetryBudget(ratio=0.1, minimum=1)
        assert budget.withdraw("a") is True
        assert budget.withdraw("a") is False
        assert budget.withdraw("b") is True

    def test_storm_adds_at_most_minimum_plus_ratio(self) -> None:
        """Every request fails and wants 3 retries: the retries allowed over 1000 requests
        stay within ``minimum + ratio * requests``."""
        budget = RetryBudget(ratio=0.1, minimum=10)
        retries = 0
        for _ in range(1000):
            budget.deposit("a")
            for _ in range(3):
                if not budget.withdraw("a"):
                    break
                retries += 1
        assert retries <= 10 + 0.1 * 1000
        assert retries >= 0.1 * 1000  # and the budget does allow what it promises


class TestMemory:
    def test_full_hosts_are_not_stored(self) -> None:
        budget = RetryBudget(ratio=1.0, minimum=2)
        budget.deposit("a")
        assert len(budget) == 0
        budget.withdraw("a")
        assert len(budget) == 1
        budget.deposit("a")  # full again
        assert len(budget) == 0

    def test_least_recently_used_host_is_forgotten(self) -> None:
        """Past ``max_hosts``, the host untouched longest is dropped: its bucket is full
        again; the others keep their balances."""
        budget = RetryBudget(ratio=0.0, minimum=1, max_hosts=2)
        budget.withdraw("a")
        budget.withdraw("b")
        budget.withdraw("a")  # refused, but touches "a": "b" is now the oldest
        budget.withdraw("c")
        assert len(budget) == 2
        assert budget.balance("b") == 1.0  # forgotten
        assert budget.balance("a") == 0.0
        assert budget.balance("c") == 0.0

    def test_a_flood_of_hosts_stays_bounded(self) -> None:
        budget = RetryBudget(max_hosts=16)
        for number in range(10_000):
            budget.withdraw(f"host-{number}")
        assert len(budget) == 16


class TestThreads:
    def test_concurrent_withdrawals_never_overspend(self) -> None:
        """Eight threads race for 100 tokens: exactly 100 withdrawals succeed."""
        budget = RetryBudget(ratio=0.0, minimum=100)
        wins: list[int] = []
        start = threading.Barrier(8)

        def worker() -> None:
            start.wait()
            wins.append(sum(budget.withdraw("a") for _ in range(50)))

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sum(wins) == 100

    def test_concurrent_deposits_all_count(self) -> None:
        budget = RetryBudget(ratio=0.001, minimum=1000)
        spend_all(budget, "a")

        def worker() -> None:
            for _ in range(1000):
                budget.deposit("a")

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert budget.balance("a") == pytest.approx(4.0)


class TestValidation:
    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"ratio": -0.1}, "ratio"),
            ({"ratio": float("nan")}, "ratio"),
            ({"ratio": True}, "ratio"),
            ({"minimum": 0.5}, "minimum"),
            ({"minimum": float("inf")}, "minimum"),
            ({"max_hosts": 0}, "max_hosts"),
            ({"max_hosts": 1.5}, "max_hosts"),
        ],
    )
    def test_bad_arguments(self, kwargs: dict[str, object], message: str) -> None:
        with pytest.raises(ValueError, match=message):
            RetryBudget(**kwargs)  # type: ignore[arg-type]

    def test_repr(self) -> None:
        assert repr(RetryBudget()) == "RetryBudget(ratio=0.2, minimum=10.0, max_hosts=1024)"
