"""The lab's login throttle (matchbox.lab.login.LoginThrottle): its bookkeeping, on a clock the
test moves. tests/test_lab_security.py drives the same throttle through a running lab."""

from matchbox.lab.login import LoginThrottle


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_throttle_window_lockout_and_tokens():
    """Failures expire after the window, a lockout ends after its time, a success forgives, and the
    same wrong token (a stale tab polling) counts once while new ones count each."""
    clock = Clock()
    throttle = LoginThrottle(failures_allowed=3, failure_window=60, lockout=120, clock=clock)
    throttle.failed("a"), throttle.failed("a")
    clock.now += 61  # those two have left the window
    assert throttle.failed("a") == 0 and throttle.failed("a") == 0
    assert throttle.failed("a") == 120 and throttle.refused_for("a") == 120
    assert throttle.refused_for("b") == 0, "another address is never affected"
    clock.now += 119
    assert throttle.refused_for("a") == 1
    clock.now += 1
    assert throttle.refused_for("a") == 0
    throttle.failed("c"), throttle.failed("c")
    throttle.succeeded("c")
    assert throttle.failed("c") == 0 and throttle.failed("c") == 0
    for _ in range(10):
        assert throttle.failed_token("d", "stale-token") == 0
    assert throttle.failed_token("d", "guess-1") == 0
    assert throttle.failed_token("d", "guess-2") == 120
