import threading

from routilux.runtime.timers import Timers


def test_timers_run_in_deadline_order_and_cancelled_ones_never_run() -> None:
    timers = Timers()
    ran: list[str] = []
    done = threading.Event()
    timers.call_later(0.03, lambda: ran.append("late"))
    cancelled = timers.call_later(0.01, lambda: ran.append("cancelled"))
    timers.call_later(0.0, lambda: ran.append("first"))
    timers.call_later(0.05, done.set)
    cancelled.cancel()
    assert done.wait(timeout=10)
    assert ran == ["first", "late"]


def test_helper_thread_exists_only_while_timers_are_pending() -> None:
    timers = Timers(name="probe-timers")
    fired = threading.Event()
    handle = timers.call_later(60, fired.set)
    assert timers.pending == 1
    assert any(t.name == "probe-timers" for t in threading.enumerate())
    handle.cancel()
    handle.cancel()  # idempotent
    assert timers.pending == 0
    for thread in threading.enumerate():
        if thread.name == "probe-timers":
            thread.join(timeout=10)
    assert not any(t.name == "probe-timers" for t in threading.enumerate())
    assert not fired.is_set()


def test_a_failing_callback_does_not_stop_later_timers() -> None:
    timers = Timers()
    done = threading.Event()
    errors: list[BaseException | None] = []
    previous = threading.excepthook
    threading.excepthook = lambda args: errors.append(args.exc_value)
    try:
        timers.call_later(0, lambda: 1 / 0)
        timers.call_later(0.01, done.set)
        assert done.wait(timeout=10)
    finally:
        threading.excepthook = previous
    assert len(errors) == 1 and isinstance(errors[0], ZeroDivisionError)


def test_many_cancellations_are_compacted() -> None:
    timers = Timers()
    handles = [timers.call_later(60, lambda: None) for _ in range(200)]
    for handle in handles[:150]:
        handle.cancel()
    assert timers.pending == 50
    for handle in handles[150:]:
        handle.cancel()
    assert timers.pending == 0
