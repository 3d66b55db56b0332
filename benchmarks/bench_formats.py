"""How many problems per second each built-in format renders.

The layer renders a body on every refused request, so rendering is on the hot path of exactly
the traffic an API most wants to shed cheaply. The floor is ``json.dumps`` of the equivalent,
already built problem+json dict with the same encoder settings (compact, UTF-8): no format can
beat it, and the ratio shows what building the body costs on top of serializing it.

Run: ``.venv/bin/python benchmarks/bench_formats.py`` (about 10 seconds).
"""

from __future__ import annotations

import json
import timeit
from collections.abc import Callable
from functools import partial

from errorbook._formats import format_names, get_format
from errorbook._problem import FieldError, Problem

REPEATS = 5
#: Seconds each timed repeat should last; enough to swamp timer noise, short enough to keep
#: the whole run near ten seconds.
TARGET = 0.12

PROBLEM = Problem(
    code="validation_error",
    status=400,
    message="Some fields in the request body are missing or hold values of the wrong kind.",
    key="validation_error",
    title="Validation error",
    type="https://api.example.com/errors/validation_error",
    instance="/v1/transfers/8f14e45f/files",
    fields=[
        FieldError("/files/0/size", "too_small", "Expected 1200 to be 3243214."),
        FieldError("/name", "required", "A transfer needs a name."),
    ],
    extensions={"documentation": "https://api.example.com/docs/transfers"},
    request_id="req_01HZX3N6Q8W2K4M7P9R5T1V3Y",
)

FLOOR_DICT = {
    "type": PROBLEM.type,
    "title": PROBLEM.title,
    "status": PROBLEM.status,
    "detail": PROBLEM.message,
    "instance": PROBLEM.instance,
    "code": PROBLEM.code,
    "request_id": PROBLEM.request_id,
    "errors": [{"pointer": f.pointer, "code": f.code, "detail": f.message} for f in PROBLEM.fields],
    "documentation": PROBLEM.extensions["documentation"],
}


def floor() -> bytes:
    """The cost of serializing an already built problem+json dict, and nothing else."""
    return json.dumps(FLOOR_DICT, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def best_rate(call: Callable[[], object]) -> float:
    """Calls per second in the best of REPEATS runs (the least disturbed by the machine)."""
    timer = timeit.Timer(call)
    sample = max(timer.timeit(200) / 200, 1e-9)
    number = max(1, int(TARGET / sample))
    best = min(timer.repeat(repeat=REPEATS, number=number))
    return number / best


def main() -> None:
    rows: list[tuple[str, int, float]] = [("json.dumps (floor)", len(floor()), best_rate(floor))]
    for name in format_names():
        render = get_format(name).render  # built and warmed outside the timing
        size = len(render(PROBLEM))
        rows.append((name, size, best_rate(partial(render, PROBLEM))))
    floor_rate = rows[0][2]
    print(f"{'format':<20} {'bytes':>6} {'problems/s':>12} {'µs/problem':>11} {'x floor':>8}")
    for name, size, rate in rows:
        print(f"{name:<20} {size:>6} {rate:>12,.0f} {1e6 / rate:>11.2f} {floor_rate / rate:>8.2f}")


if __name__ == "__main__":
    main()
