"""RayHandler on a real local Ray (one ``ray.init(num_cpus=1)`` for the module)."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from doeff_migrate.runtime import Gather, Spawn, Wait, do, run
from doeff_migrate.runtime.ray_backend import RayHandler, RayNotStartedError
from doeff_migrate.runtime.recording import RecordingHandler, load_recording

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))  # ml_programs: importable here and, via PYTHONPATH, on the workers

import ml_programs as P  # noqa: E402

import ray  # noqa: E402 - a real dependency in CI ([all]); a missing ray must fail, not skip

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def ray_session():
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(
        num_cpus=1,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}},
    )
    yield
    ray.shutdown()


def test_spawned_programs_run_on_ray_workers_under_the_worker_stack():
    value = run(P.fan_out(4), handlers=[RayHandler([P.SquareHandler()])])
    assert [v for v, _ in value] == [0, 1, 4, 9]
    pids = {pid for _, pid in value}
    assert os.getpid() not in pids  # answered by SquareHandler on the worker, not here


def test_worker_handlers_from_a_factory_and_worker_env():
    from doeff_migrate.runtime import Ask

    @do
    def needs_env():
        return (yield Ask("greeting")) + "!"

    @do
    def main():
        t = yield Spawn(needs_env())
        return (yield Wait(t))

    assert run(main(), handlers=[RayHandler(lambda: [], worker_env={"greeting": "hi"})]) == "hi!"


def test_remote_exception_keeps_its_type_and_message():
    @do
    def main():
        t = yield Spawn(P.fail_remote("boom"))
        try:
            yield Wait(t)
        except ValueError as err:
            return str(err)

    assert run(main(), handlers=[RayHandler()]) == "boom"


def test_spawn_resource_options_reach_ray():
    @do
    def main():
        t = yield Spawn(P.resources_seen(), num_cpus=0.5)
        return (yield Wait(t))

    assert run(main(), handlers=[RayHandler()]) == {"CPU": 0.5}

    @do
    def default_options():
        t = yield Spawn(P.resources_seen())
        return (yield Wait(t))

    assert run(default_options(), handlers=[RayHandler(options={"num_cpus": 0.25})]) == {"CPU": 0.25}

    @do
    def too_much():
        t = yield Spawn(P.plus_one(1), num_gpus=0.5, options={"nonsense": 1})
        return (yield Wait(t))

    with pytest.raises(TypeError, match="'nonsense' are not Ray task options"):
        run(too_much(), handlers=[RayHandler()])


def test_ray_spawns_are_recorded_and_replay_without_ray(tmp_path):
    path = tmp_path / "ray.jsonl"
    value = run(P.fan_out(3), handlers=[RecordingHandler(path), RayHandler([P.SquareHandler()])])
    spawns = [r for r in load_recording(path).records if r.effect.endswith(".Spawn")]
    assert len(spawns) == 3 and spawns[0].fields["program"]["$program"].endswith("square_remote")
    # replay in a process where Ray was never started: the recorded values come back, no task runs
    code = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(HERE)!r})
        import ml_programs as P
        from doeff_migrate.runtime import run
        from doeff_migrate.runtime.recording import ReplayHandler
        print(run(P.fan_out(3), handlers=[ReplayHandler({str(path)!r})]))
        print("ray imported:", "ray" in sys.modules)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [repr(value), "ray imported: False"]


def test_ray_not_started_says_how_to_start_it():
    code = textwrap.dedent("""
        from doeff_migrate.runtime import Gather, Spawn, Wait, do, run
        from doeff_migrate.runtime.ray_backend import RayHandler, RayNotStartedError
        from doeff_migrate.runtime.effects import Spawn

        @do
        def main():
            t = yield Spawn(do(lambda: 1)())
            return (yield Wait(t))

        try:
            run(main(), handlers=[RayHandler()])
        except RayNotStartedError as err:
            print("ERROR:", err)
        print("STARTED:", run(main(), handlers=[RayHandler(init=True, init_kwargs={"num_cpus": 1, "include_dashboard": False})]))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "ERROR:" in proc.stdout and "ray.init()" in proc.stdout and "RayHandler(init=True)" in proc.stdout
    assert "STARTED: 1" in proc.stdout, proc.stderr[-2000:]
    assert RayNotStartedError.__mro__[1] is RuntimeError


def test_tasks_finishing_together_each_get_their_own_value_or_error():
    # A failure among tasks finishing together reaches only its own Wait, with its own type.
    @do
    def main():
        tasks = [(yield Spawn(P.plus_one(1))), (yield Spawn(P.fail_remote("second"))), (yield Spawn(P.plus_one(3)))]
        outcomes = []
        for t in tasks:
            try:
                outcomes.append((yield Wait(t)))
            except ValueError as err:
                outcomes.append(f"ValueError: {err}")
        return outcomes

    assert run(main(), handlers=[RayHandler()]) == [2, "ValueError: second", 4]


def test_ray_shutdown_while_a_task_runs_raises_at_its_wait_and_the_process_lives_on():
    code = textwrap.dedent("""
        import os, time
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        import ray
        from doeff_migrate.runtime import Gather, Spawn, Wait, do, run
        from doeff_migrate.runtime.ray_backend import RayHandler, RayNotStartedError

        @do
        def slow():
            time.sleep(3.0)
            return "finished"

        @do
        def main(restart):
            task = yield Spawn(slow())
            ray.shutdown()
            if restart:  # a new Ray session: the old one's task still never calls back
                ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
            try:
                return (yield Wait(task))
            except RayNotStartedError as err:
                return f"lost: {err}"

        ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
        print("RESULT:", run(main(False), handlers=[RayHandler()]), flush=True)
        ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
        print("RESTARTED:", run(main(True), handlers=[RayHandler()]), flush=True)
        ray.shutdown()
        print("AFTER: alive", flush=True)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "RESULT: lost: ray.shutdown() ran while this Ray task was running" in proc.stdout
    assert "RESTARTED: lost: ray.shutdown() ran while this Ray task was running" in proc.stdout
    assert "AFTER: alive" in proc.stdout


def test_a_spawned_call_keeps_its_arguments_as_the_program_got_them():
    """A ``@do`` call is shipped as its function (once) and its arguments: positional, star and keyword
    arguments arrive as given, and an ``ObjectRef`` argument stays a reference, as inside the program."""
    ref = ray.put(41)

    @do
    def main():
        programs = [
            (P.describe_arguments(1, 2, 3, scale=10, tag="x"), {}),
            (P.describe_arguments(ref, 5), {}),
            (P.plain_times(4, factor=3), {}),
            (P.describe_arguments("s", 1), {"num_cpus": 0.5}),
        ]
        tasks = []
        for program, options in programs:
            tasks.append((yield Spawn(program, **options)))
        return (yield Gather(*tasks))

    assert run(main(), handlers=[RayHandler()]) == [
        ("int", [20, 30], [("tag", "x")]),
        ("ObjectRef", [5], []),
        12,
        ("str", [1], []),
    ]
    with_stack = run(main(), handlers=[RayHandler([P.SquareHandler()], worker_env={"unused": 1})])
    assert with_stack[0] == ("int", [20, 30], [("tag", "x")]) and with_stack[2] == 12


def test_a_local_do_function_is_shipped_by_value():
    """A local ``@do`` function travels inside each task's program (not as a remote function of its
    own, which would be exported once per definition)."""
    from doeff_migrate.runtime.ray_backend import _plain_call

    offset = 100

    @do
    def local(x):
        return x + offset

    @do
    def main():
        tasks = []
        for i in range(3):
            tasks.append((yield Spawn(local(i))))
        return (yield Gather(*tasks))

    assert run(main(), handlers=[RayHandler()]) == [100, 101, 102]
    assert _plain_call(local(1), ray.ObjectRef) is None
    assert _plain_call(P.plus_one(1), ray.ObjectRef) == (P.plus_one, (1,), {})
