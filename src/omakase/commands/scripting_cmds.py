"""EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT: thin handlers over
``omakase.scripting.eval`` (Redis's ``eval.c``), kept here so the registry's
``load_all()`` imports them."""
from __future__ import annotations

from omakase.commands.registry import command
from omakase.networking import Client
from omakase.scripting import eval as ev


# EVAL is the hot one: its handler is eval_generic itself (defaults: not
# EVALSHA, not read-only), one call frame less per request.
eval_command = command("eval")(ev.eval_generic)


@command("evalsha")
def evalsha_command(c: Client, argv: list[bytes]) -> None:
    ev.eval_generic(c, argv, True, False)


@command("eval_ro")
def eval_ro_command(c: Client, argv: list[bytes]) -> None:
    ev.eval_generic(c, argv, False, True)


@command("evalsha_ro")
def evalsha_ro_command(c: Client, argv: list[bytes]) -> None:
    ev.eval_generic(c, argv, True, True)


@command("script|load")
def script_load_command(c: Client, argv: list[bytes]) -> None:
    ev.script_load(c, argv)


@command("script|exists")
def script_exists_command(c: Client, argv: list[bytes]) -> None:
    ev.script_exists(c, argv)


@command("script|flush")
def script_flush_command(c: Client, argv: list[bytes]) -> None:
    ev.script_flush(c, argv)


@command("script|kill")
def script_kill_command(c: Client, argv: list[bytes]) -> None:
    ev.script_kill(c, argv)


@command("script|debug")
def script_debug_command(c: Client, argv: list[bytes]) -> None:
    ev.script_debug(c, argv)


@command("script|help")
def script_help_command(c: Client, argv: list[bytes]) -> None:
    c.add_reply_help("script", ev.SCRIPT_HELP)
