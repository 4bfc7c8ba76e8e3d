"""The reassembly rule on plain data (any order, duplicates, gaps, a reused reference), and
the store applying it inside the transaction that stores each part."""

from __future__ import annotations

from pathlib import Path
from random import Random

from hypothesis import given
from hypothesis import strategies as st

from gateway.inbound.reassembly import GAP, assemble, release
from gateway.store import InboundItem, Store
from gateway.store.rows import Assembly, PartRow


def _part(id_: int, seq: int, total: int, text: str, received: str = "2026-12-02T10:00:00.000+00:00") -> PartRow:
    return PartRow(id_, seq, total, text, "2026-12-02T09:59:00+00:00", received)


def _feed(parts: list[PartRow]) -> tuple[list[PartRow], list[Assembly]]:
    """Add parts one by one as the store does: what is still open, and each answer."""
    open_parts: list[PartRow] = []
    answers = []
    for new in parts:
        answer = assemble(sorted(open_parts, key=lambda p: (p.seq, p.id)), new)
        answers.append(answer)
        if answer.released is not None:
            open_parts = [p for p in open_parts if p.id not in answer.released.part_ids]
        if answer.complete is not None:
            open_parts = [p for p in open_parts if p.id not in answer.complete.part_ids]
        elif not answer.duplicate:
            open_parts.append(new)
    return open_parts, answers


texts = st.lists(st.text(alphabet="abcdefgh ءآ", min_size=1, max_size=5), min_size=1, max_size=6)


@given(texts, st.randoms(use_true_random=False), st.integers(min_value=0, max_value=6))
def test_parts_in_any_order_with_copies_join_once_in_place_order(pieces: list[str], rnd: Random, copies: int) -> None:
    total = len(pieces)
    parts = [_part(seq, seq, total, text) for seq, text in enumerate(pieces, start=1)]
    arrivals = parts + [rnd.choice(parts) for _ in range(copies)]
    rnd.shuffle(arrivals)
    arrivals = [PartRow(n, p.seq, p.total, p.text, p.sent_at, p.received_at) for n, p in enumerate(arrivals, start=1)]
    last = max(min(i for i, p in enumerate(arrivals) if p.seq == seq) for seq in range(1, total + 1))
    _, answers = _feed(arrivals[: last + 1])  # up to the part that completes the set
    seen: set[int] = set()
    for part, answer in zip(arrivals, answers[:-1], strict=False):
        assert answer.duplicate == (part.seq in seen) and answer.released is None and answer.complete is None
        seen.add(part.seq)
    whole = answers[-1].complete
    assert whole is not None and whole.complete and whole.parts == total
    assert whole.text == "".join(pieces)  # in place order, each place once


@given(texts, st.sets(st.integers(min_value=1, max_value=6)))
def test_an_incomplete_set_is_released_with_gaps_marked(pieces: list[str], missing: set[int]) -> None:
    total = len(pieces)
    came = [_part(seq, seq, total, text) for seq, text in enumerate(pieces, start=1) if seq not in missing]
    joined = release(came)
    if not came:
        assert joined is None
        return
    assert joined is not None and not joined.complete and joined.parts == total
    expected = "".join(GAP if seq in missing else text for seq, text in enumerate(pieces, start=1)).strip()
    assert joined.text == expected
    assert set(joined.part_ids) == {p.id for p in came}


@given(st.lists(st.sampled_from(["x", "y"]), min_size=1, max_size=3))
def test_a_reused_reference_releases_the_old_set_and_starts_anew(old: list[str]) -> None:
    total = len(old) + 1  # the old set never completes
    olds = [_part(seq, seq, total, text) for seq, text in enumerate(old, start=1)]
    new = _part(100, 1, 2, "new-1 ")
    answer = assemble(olds, new)
    assert answer.released is not None and answer.released.part_ids == tuple(p.id for p in olds)
    assert answer.complete is None and not answer.duplicate
    done = assemble([new], _part(101, 2, 2, "new-2"))
    assert done.complete is not None and done.complete.text == "new-1 new-2"


def test_the_earliest_arrival_dates_the_message() -> None:
    a = _part(1, 2, 2, "B", received="2026-12-02T10:00:05.000+00:00")
    b = _part(2, 1, 2, "A", received="2026-12-02T10:00:01.000+00:00")
    whole = assemble([a], b).complete
    assert whole is not None and whole.text == "AB" and whole.received_at == b.received_at
    assert whole.part_ids == (2, 1)


def _item(index: int, text: str, ref: int, total: int, seq: int) -> InboundItem:
    return InboundItem("SM", index, f"P{index}", "part", sender="+989121234567", text=text, concat=(ref, total, seq))


async def test_the_store_joins_parts_as_the_rule_says(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "gw.db", site="12") as store:
        first = [_item(1, "C", 9, 3, 3), _item(2, "A", 9, 3, 1), _item(3, "A", 9, 3, 1)]  # A twice (another PDU)
        assert await store.add_inbound("m1", first, assemble=assemble) == []
        [mid] = await store.add_inbound("m1", [_item(4, "B", 9, 3, 2)], assemble=assemble)
        [message] = await store.waiting_messages()
        assert (message.id, message.text, message.parts, message.complete) == (mid, "ABC", 3, 1)
        await store.add_inbound("m1", [_item(5, "first ", 7, 3, 1), _item(6, "third", 7, 3, 3)], assemble=assemble)
        [key] = await store.incomplete_groups()
        released = await store.release_group(key, release=release)
        assert [m.text for m in await store.waiting_messages() if m.id == released] == ["first  … third"]
        assert await store.release_group(key, release=release) is None  # released already
