"""What the router would make of a text (``gateway parse``): no database, no modem, no reply sent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.config import Config
    from gateway.conversation.catalogue import Catalogue


@dataclass(frozen=True)
class ParseResult:
    text: str
    sender: str | None
    sender_kind: str
    phone: str | None
    decision: dict[str, Any]
    reply: str | None
    reply_parts: int
    reply_encoding: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "sender": self.sender,
            "sender_kind": self.sender_kind,
            "phone": self.phone,
            **self.decision,
            "reply_text": self.reply,
            "reply_parts": self.reply_parts,
            "reply_encoding": self.reply_encoding,
        }


def parse_message(config: Config, text: str, sender: str | None, catalogue: Catalogue | None = None) -> ParseResult:
    """What the router would do with ``text`` from ``sender`` -- no database, no modem."""
    from gateway.conversation.keywords import load_catalogue
    from gateway.conversation.phones import classify, number_language
    from gateway.conversation.refs import format_ref
    from gateway.conversation.replies import compose
    from gateway.conversation.router import route
    from sim_bank.pdu import segment

    catalogue = catalogue or load_catalogue(config.catalogue_path)
    if sender:
        who = classify(
            sender,
            alphanumeric=not sender.lstrip("+").isdigit(),
            region=config.site.region,
            own_numbers=config.own_numbers,
            short_code_max_digits=config.receive.short_code_max_digits,
        )
        kind, phone = who.kind, who.phone
    else:
        kind, phone = "person", None
    decision = route(
        text,
        catalogue=catalogue,
        sender_kind=kind,
        default_language=config.site.language,
        number_language=number_language(phone),
        account_min_digits=config.conversation.account_min_digits,
    )
    reply = compose(catalogue, decision, ref=format_ref(config.site.id, 123)) if decision.reply else None
    seg = segment(reply) if reply else None
    return ParseResult(
        text, sender, kind, phone, decision.as_dict(), reply, seg.count if seg else 0, seg.encoding if seg else None
    )
