"""The test helpers' port picking: each pytest worker has its own part of the range, so two workers never pick
overlapping blocks (a lab's ten ports are chosen some seconds before its backends bind them)."""
from tests.helpers import lab


def test_workers_pick_ports_from_disjoint_parts(monkeypatch):
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    parts = []
    for worker in ("gw0", "gw1"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        parts.append(lab.worker_port_range())
        base = lab.free_block(lab.lab_ports())
        assert parts[-1][0] <= base and base + lab.lab_ports() <= parts[-1][1]
    (a_low, a_high), (b_low, b_high) = parts
    assert a_high <= b_low and lab.PORT_RANGE[0] <= a_low and b_high <= lab.PORT_RANGE[1]
