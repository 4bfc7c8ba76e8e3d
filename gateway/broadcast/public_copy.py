"""The public copy of broadcasts: the same words for the website and social channels.

Each campaign's rendered notice per language is written as ``broadcasts.json``
and a small static ``index.html`` (no scripts, no external resources) under the
data directory, so that when the link returns the very text customers got by
SMS can be published as it is: one consistent message everywhere. Cancelled
campaigns, and those still waiting for approval, are left out. Files are replaced atomically.
"""

from __future__ import annotations

import html
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gateway.broadcast.cap_copy import write_cap_copy
from gateway.store import CampaignRow

RTL = ("fa", "ar")
NAMES = {"fa": "فارسی", "ar": "العربية", "en": "English"}
MAX_ITEMS = 200
Words = Mapping[int, Mapping[str, Mapping[str, str]]]  # campaign id -> language -> headline, instruction


def public_items(
    campaigns: Sequence[CampaignRow], words: Words | None = None, stages: Mapping[int, tuple[int, str]] | None = None
) -> list[dict[str, Any]]:
    """The notices sent (or sending), newest first; one a CAP alert sent carries that alert's
    ``headline`` and ``instruction`` by language (``words``: campaign id -> language -> them)."""
    items = []
    for c in campaigns:
        if c.status in ("cancelled", "creating", "pending_approval"):  # not (yet) sent to anyone
            continue
        item: dict[str, Any] = {"id": c.id, "notice": c.template, "published_at": c.created_at,
                                "texts": c.text_by_language}  # fmt: skip
        for key in ("headline", "instruction"):
            said = {lang: w[key] for lang, w in (words or {}).get(c.id, {}).items() if w.get(key)}
            if said:
                item[key] = said
        if stages and c.id in stages:  # a stage of an outage sent it
            item["outage"] = {"id": stages[c.id][0], "stage": stages[c.id][1]}
        items.append(item)
    return items[:MAX_ITEMS]


def render_html(items: Sequence[dict[str, Any]], site_name: str, outages: Sequence[dict[str, Any]] = ()) -> str:
    title = html.escape(site_name or "Service notices")
    rows = [_outage_html(o) for o in outages]
    for item in items:
        texts = "".join(
            f'<p lang="{lang}" dir="{"rtl" if lang in RTL else "ltr"}"><b>{NAMES.get(lang, lang)}:</b> '
            f"{html.escape(text)}</p>"
            for lang, text in item["texts"].items()
        )
        for key in ("headline", "instruction"):  # a CAP alert's own words, beside ours
            texts += "".join(
                f'<p class="{key}" lang="{lang}" dir="{"rtl" if lang in RTL else "ltr"}">{html.escape(text)}</p>'
                for lang, text in item.get(key, {}).items()
            )
        stamp = html.escape(str(item["published_at"]))
        when = stamp[:16].replace("T", " ")
        rows.append(f'<article><time datetime="{stamp}">{when} UTC</time>{texts}</article>')
    body = "\n".join(rows) or "<p>No notices.</p>"
    return (
        "<!doctype html>\n"
        f'<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
        f"<title>{title}</title>"
        "<style>body{font-family:sans-serif;max-width:40em;margin:auto;padding:1em}"
        "article{border-bottom:1px solid #ccc;padding:.5em 0}time{color:#555}</style></head>\n"
        f"<body><h1>{title}</h1>\n{body}\n</body></html>\n"
    )


def _outage_html(o: Mapping[str, Any]) -> str:
    """One outage as the page shows it: its areas, state, since when, its ETR (local time)."""
    said = f"outage {o['id']}, {o['status']} since {o['started_local']}"
    if o.get("eta_local") and o["status"] == "active":
        said += f"; expected back about {o['eta_local']}"
    if o.get("ended_local"):
        said += f"; ended {o['ended_local']}"
    areas = html.escape(", ".join(o["areas"]))
    return f'<article class="outage"><b>{areas}</b>: {html.escape(said)} (local time)</article>'


def write_public_copy(
    directory: Path,
    campaigns: Sequence[CampaignRow],
    site_name: str = "",
    words: Words | None = None,
    outages: Sequence[dict[str, Any]] = (),
    stages: Mapping[int, tuple[int, str]] | None = None,
) -> list[Path]:
    """Write ``broadcasts.json`` and ``index.html`` in ``directory``, and each notice as a CAP 1.2
    alert with the Atom feed under ``directory/cap/`` (:mod:`gateway.broadcast.cap_copy`); returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    items = public_items(campaigns, words, stages)
    doc = {"notices": items, "outages": list(outages)}  # outages: gateway.outages, each notice's stage in "outage"
    outputs = {
        directory / "broadcasts.json": json.dumps(doc, ensure_ascii=False, indent=2) + "\n",
        directory / "index.html": render_html(items, site_name, outages),
    }
    for path, content in outputs.items():
        _replace(path, content)
    return [*outputs, *write_cap_copy(directory, items, site_name, _replace)]  # cap/: CAP 1.2 and Atom


def _replace(path: Path, content: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
