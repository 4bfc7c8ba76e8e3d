"""``gateway check-config``: every problem of gateway.toml, the keyword catalogue and the notices, in one run."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from gateway.cli.common import CONTEXT, with_config

if TYPE_CHECKING:
    from gateway import config as config_mod


@click.command("check-config", context_settings=CONTEXT)
@with_config
def check_config(config: config_mod.Config) -> None:
    """Validate gateway.toml, the keyword catalogue and the broadcast notices, reporting every
    problem in one run; exit 1 with the file, key and fix of each.

    Example: gateway check-config -c gateway.toml
    """
    from gateway.broadcast.templates import load_notices
    from gateway.conversation.keywords import load_catalogue
    from gateway.conversation.replies import oversized
    from gateway.exceptions import ConfigError, NoticeError
    from gateway.outbound.operations import too_long
    from sim_bank.pdu import segment

    where = config.path or "built-in defaults"
    click.echo(f"{where}: ok ({len(config.modems)} modem(s), site {config.site.id}, database {config.database_path})")
    if not config.modems:
        click.echo(
            f"warning: no [[modems]] in {where}: `gateway run` will not start with it -- add [[modems]] entries "
            "(id, port, baudrate), or try it without hardware: gateway run --simulate 4",
            err=True,
        )
    broken: list[str] = []  # files that cannot be used at all
    try:
        catalogue = load_catalogue(config.catalogue_path)
    except ConfigError as exc:
        broken.append(str(exc))
        long_replies = []
    else:
        long_replies = oversized(catalogue, config.conversation.reply_max_parts)
        if not long_replies:
            click.echo(f"{catalogue.path}: ok ({len(catalogue.codes)} codes, {len(catalogue.replies)} replies)")
    try:
        notices = load_notices(config.templates_path)
    except (ConfigError, NoticeError) as exc:
        broken.append(str(exc))
    else:
        for notice in notices.values():
            for lang, text in notice.render_all(notice.samples).items():
                what = f"notice {notice.name!r} in {lang} (sample values)"
                reason = too_long(config, segment(text), what)
                if reason:
                    click.echo(f"warning: {reason}: a broadcast of it would be refused", err=True)
        click.echo(f"{config.templates_path or 'shipped templates.toml'}: ok ({len(notices)} notices)")
    for problem in [*broken, *long_replies]:
        click.echo(problem, err=True)
    if broken:
        raise click.ClickException(f"{len(broken) + len(long_replies)} problem(s): see above")
    if long_replies:
        n = len(long_replies)
        raise click.ClickException(f"{n} repl{'y is' if n == 1 else 'ies are'} too long")


COMMANDS = (check_config,)
