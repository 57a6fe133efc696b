"""The floor: minimal pure-Python drivers of the runtime's own program objects.

Each driver runs a program built exactly as user code builds it (``@do`` from ``doeff_migrate.runtime``,
the public ``Ask``/``Get``/``Put``/``Tell`` classes, ``leaf()`` calls), and does only the work that any
interpreter of those objects must do: start the program's generator (a ``Call`` is a partial of the
generator function, so calling it starts the body), answer each yielded object, send the answer back.
What a driver leaves out is everything else an interpreter owes its users: handlers (the answer comes
from a dict or list the driver holds), any check that the yielded object is of a kind the driver
knows (each driver assumes the program yields only what its case yields), error handling, tracebacks,
re-entrancy and per-run state. So a driver's time is a lower bound for an interpreter written in
Python on these objects, not a competitor: a target below it is out of reach for such an interpreter.
"""

from typing import Any


def drive_reader(program: Any, env: dict) -> Any:
    """Answer every yielded ``Ask`` from ``env`` (the program yields nothing else)."""
    gen = program()
    try:
        request = gen.send(None)
        while True:
            request = gen.send(env[request.key])
    except StopIteration as stop:
        return stop.value


def drive_writer(program: Any, log: list) -> Any:
    """Append every yielded ``Tell``'s message to ``log`` (the program yields nothing else)."""
    gen = program()
    append = log.append
    try:
        request = gen.send(None)
        while True:
            append(request.msg)
            request = gen.send(None)
    except StopIteration as stop:
        return stop.value


def drive_state(program: Any, store: dict, get_type: type) -> Any:
    """Answer ``Get`` from ``store`` and store ``Put``: one class check tells the two apart."""
    gen = program()
    try:
        request = gen.send(None)
        while True:
            if type(request) is get_type:
                request = gen.send(store.get(request.key))
            else:
                store[request.key] = request.value
                request = gen.send(None)
    except StopIteration as stop:
        return stop.value


# A program's generator runs inside a runner generator (``yield from``), so a program that returns
# hands its value to the driver as a yielded tuple instead of a raised StopIteration; runners are
# pooled across calls and runs, so a call costs no generator creation beyond the program's own.
# Measured against a driver that sends into the program's generator directly and catches its
# StopIteration: that one is 10-20 % slower per call, so the runner form is the floor.
_RUNNERS: list = []


def _runner():
    gen = yield
    while True:
        gen = yield ((yield from gen),)


def _fresh_runner() -> Any:
    runner = _runner()
    next(runner)
    return runner


def drive_calls(program: Any) -> Any:
    """Run a program that yields only sub-program calls (``yield leaf()``), depth-first, on a stack."""
    pool = _RUNNERS
    stack: list = []
    runner = pool.pop() if pool else _fresh_runner()
    request = runner.send(program())
    while True:
        if type(request) is tuple:  # the program in `runner` returned request[0]
            pool.append(runner)
            if not stack:
                return request[0]
            runner = stack.pop()
            request = runner.send(request[0])
        else:
            stack.append(runner)
            runner = pool.pop() if pool else _fresh_runner()
            request = runner.send(request())
