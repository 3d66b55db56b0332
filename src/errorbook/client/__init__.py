"""The client side of an error catalog: typed errors and polite retries for httpx.

Any API described by a catalog (a built-in profile or your own file) gets its errors as
typed exceptions and its retries done right::

    from errorbook.client import Client, RetryPolicy

    with Client("https://api.example.com", catalog="discord", api_key=TOKEN,
                policy=RetryPolicy(attempts=5, idempotency_keys=True)) as client:
        try:
            client.post("/channels/42/messages", json={"content": ""})
        except client.catalog.errors.EmptyMessageError as err:
            print(err.code, err.message, [a.reason for a in err.attempts])

Or add the retrying transport to a client of your own:
``httpx.Client(transport=RetryTransport(httpx.HTTPTransport(), catalog="tape"))``.

In your own test suite, ``with errorbook.client.testing():`` keeps every wait recorded but
never slept.
"""

from ._breaker import CircuitBreaker
from ._budget import RetryBudget
from ._client import AsyncClient, Client
from ._clock import Clock, SystemClock
from ._errors import Attempt, CircuitOpenError, ProblemError
from ._parse import error_for, parse, problem_from
from ._policy import RetryPolicy
from ._testing import testing
from ._transport import AsyncRetryTransport, RetryTransport

__all__ = [
    "AsyncClient",
    "AsyncRetryTransport",
    "Attempt",
    "CircuitBreaker",
    "CircuitOpenError",
    "Client",
    "Clock",
    "ProblemError",
    "RetryBudget",
    "RetryPolicy",
    "RetryTransport",
    "SystemClock",
    "error_for",
    "parse",
    "problem_from",
    "testing",
]

# Reprs, tracebacks and docs show errorbook.client.RetryPolicy, not the private module.
for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
