"""Which SIM sends: quota left, on-net, fewest waiting, least recently used."""

from __future__ import annotations

from gateway.outbound.choice import choose, operator_of

PREFIXES = {"MCI": ["+98912", "+98913"], "Irancell": ["+98935", "+98901"], "Long": ["+989121"]}


def test_operator_by_longest_prefix() -> None:
    assert operator_of("+989351234567", PREFIXES) == "Irancell"
    assert operator_of("+989121234567", PREFIXES) == "Long"
    assert operator_of("+447700900123", PREFIXES) is None


def test_choice_order() -> None:
    ops = {"m1": "MCI", "m2": "Irancell", "m3": "Irancell"}
    assert choose(["m1", "m2", "m3"], fits=lambda m: True, sim_operator=ops) == "m1"  # least recently used
    assert choose(["m1", "m2", "m3"], fits=lambda m: True, sim_operator=ops, wanted_operator="Irancell") == "m2"
    waiting = {"m2": 3}
    assert (
        choose(["m1", "m2", "m3"], fits=lambda m: True, sim_operator=ops, wanted_operator="Irancell", waiting=waiting)
        == "m3"
    )
    assert (
        choose(["m1", "m2"], fits=lambda m: m == "m1", sim_operator=ops, wanted_operator="Irancell") == "m1"
    )  # off-net beats none
    assert choose(["m1"], fits=lambda m: False, sim_operator=ops) is None
