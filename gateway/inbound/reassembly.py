"""Long messages: joining the parts of one concatenated SMS (pure).

A long SMS arrives as parts that share a reference, each with its place (``seq``) and
the set's size (``total``), in any order, sometimes twice, sometimes never. The store
keeps every part; it asks :func:`assemble` what one more part does to the parts still
open under its key (same modem, sender and reference), and :func:`release` what a set
becomes when the rest is not coming. The store calls both inside the transaction that
stores the part, so the rule and the rows cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.store.rows import Assembly, Joined, PartRow

GAP = " … "  # where a part never came


def assemble(open_parts: Sequence[PartRow], new: PartRow) -> Assembly:
    """What ``new`` does to the parts open under its key (in the order stored: by seq, then id).

    * the same place with the same text: the network delivered it twice -- a duplicate;
    * the same place with another text: the sender's phone reused the reference before the
      old message was whole -- the old parts are released as a message of their own and
      ``new`` starts a set of its own;
    * the set has a part for each place now: complete, joined in place order;
    * otherwise: it waits for the rest.
    """
    parts = [p for p in open_parts if p.id != new.id]
    released = None
    same_place = [p for p in parts if p.seq == new.seq]
    if same_place:
        if same_place[0].text == new.text:
            return Assembly(duplicate=True)
        released = release(parts)
        parts = []
    by_seq: dict[int, PartRow] = {}
    for p in [*parts, new]:
        by_seq.setdefault(p.seq, p)
    if len(by_seq) < new.total:
        return Assembly(released=released)
    ordered = [by_seq[s] for s in sorted(by_seq)]
    whole = Joined(
        text="".join(p.text or "" for p in ordered),
        part_ids=tuple(p.id for p in ordered),
        parts=new.total,
        complete=True,
        sent_at=ordered[0].sent_at,
        received_at=min(p.received_at for p in ordered),
    )
    return Assembly(released=released, complete=whole)


def release(parts: Sequence[PartRow]) -> Joined | None:
    """What an incomplete set becomes: the parts that came, in place order, with :data:`GAP`
    where one is missing. None for no parts (completed or released meanwhile)."""
    if not parts:
        return None
    by_seq: dict[int, PartRow] = {}
    for p in parts:
        by_seq.setdefault(p.seq, p)
    total = parts[0].total
    text = "".join((by_seq[s].text or "") if s in by_seq else GAP for s in range(1, total + 1))
    return Joined(
        text=text.strip(),
        part_ids=tuple(p.id for p in parts),
        parts=total,
        complete=False,
        sent_at=parts[0].sent_at,
        received_at=min(p.received_at for p in parts),
    )
