"""FUNCTION * and FCALL/FCALL_RO: thin handlers over
``omakase.scripting.functions`` (Redis's ``functions.c``), kept here so the
registry's ``load_all()`` imports them."""
from __future__ import annotations

from omakase.commands.registry import command
from omakase.networking import Client
from omakase.scripting import functions as fu


@command("fcall")
def fcall_command(c: Client, argv: list[bytes]) -> None:
    fu.fcall_generic(c, argv, read_only=False)


@command("fcall_ro")
def fcall_ro_command(c: Client, argv: list[bytes]) -> None:
    fu.fcall_generic(c, argv, read_only=True)


@command("function|load")
def function_load_command(c: Client, argv: list[bytes]) -> None:
    fu.function_load(c, argv)


@command("function|delete")
def function_delete_command(c: Client, argv: list[bytes]) -> None:
    fu.function_delete(c, argv)


@command("function|flush")
def function_flush_command(c: Client, argv: list[bytes]) -> None:
    fu.function_flush(c, argv)


@command("function|list")
def function_list_command(c: Client, argv: list[bytes]) -> None:
    fu.function_list(c, argv)


@command("function|stats")
def function_stats_command(c: Client, argv: list[bytes]) -> None:
    fu.function_stats(c, argv)


@command("function|dump")
def function_dump_command(c: Client, argv: list[bytes]) -> None:
    fu.function_dump(c, argv)


@command("function|restore")
def function_restore_command(c: Client, argv: list[bytes]) -> None:
    fu.function_restore(c, argv)


@command("function|kill")
def function_kill_command(c: Client, argv: list[bytes]) -> None:
    fu.function_kill(c, argv)


@command("function|help")
def function_help_command(c: Client, argv: list[bytes]) -> None:
    c.add_reply_help("function", fu.FUNCTION_HELP)
