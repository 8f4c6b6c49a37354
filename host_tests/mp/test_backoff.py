# Unit tests of runtime.backoff on the unix port.
from runtime.backoff import delay_s


def test_doubling_capped_by_repeat_times():
    assert [delay_s(k, 10, 0, 3, 12345) for k in range(6)] == [10, 20, 40, 80, 80, 80]


def test_random_part_in_range():
    seen = set(delay_s(0, 5, 4, 2, r) for r in range(100))
    assert seen == {5, 6, 7, 8, 9}
    assert delay_s(2, 5, 0, 2, 99) == 20
