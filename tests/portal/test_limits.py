"""The in-memory window limiter and the per-prefix counts of wrong secrets."""

from __future__ import annotations

from haven.portal import limits


def test_the_window_limiter_counts_a_rolling_minute() -> None:
    now = [0.0]
    limiter = limits.WindowLimiter(lambda: 3, clock=lambda: now[0])
    assert [limiter.allow() for _ in range(4)] == [True, True, True, False]
    now[0] = 59.9
    assert not limiter.allow()
    now[0] = 60.0
    assert limiter.allow()


def test_prefix_counters_stop_at_their_ceiling_and_stay_small() -> None:
    failures = limits.PrefixFailures("receipts", clock=lambda: 0.0)
    for _ in range(1_000):
        failures.record(7)
    assert failures.failures(7) == 255
    assert failures.failures(8) == 0


def test_buckets_are_the_first_five_digits_and_a_hash_of_a_codes_first_characters() -> None:
    assert limits.receipt_bucket("01234567890123456789") == 1234
    assert 0 <= limits.credential_bucket("abcdefghjkmnpqrstuvwxyz23") < limits.BUCKETS
    assert limits.credential_bucket("abcdeXXXXX") == limits.credential_bucket("abcdeYYYYY")


def test_many_wrong_secrets_in_a_minute_are_logged_without_the_prefix(caplog) -> None:
    failures = limits.PrefixFailures("receipts", clock=lambda: 0.0)
    for bucket in range(limits.ALARM_PER_MINUTE):
        failures.record(bucket)
    assert "100 wrong receipts in the last minute" in caplog.text
    assert "99" not in caplog.text.replace("100", "")
