"""Build src/omakase/commands/redis_commands.json from Redis 7.0's command specs.

The JSON files in shared/reference/redis-7.0/commands are facts (arity, flags,
key specs, arguments, doc fields).  This tool folds them into one file shipped
with the package: {"get": {...}, "config": {..., "subcommands": {"get": {...}}}}.
Run:  python tools/gen_command_specs.py ../shared/reference/redis-7.0/commands
"""
import json
import pathlib
import sys

KEEP = ("summary", "complexity", "group", "since", "arity", "command_flags",
        "acl_categories", "key_specs", "arguments", "history", "deprecated_since",
        "replaced_by", "doc_flags", "reply_schema", "command_tips", "get_keys_function")


def main(src: str) -> None:
    top: dict = {}
    subs: dict = {}
    for path in sorted(pathlib.Path(src).glob("*.json")):
        for name, spec in json.loads(path.read_text()).items():
            entry = {k: spec[k] for k in KEEP if k in spec}
            if "container" in spec:
                subs.setdefault(spec["container"].lower(), {})[name.lower()] = entry
            else:
                top[name.lower()] = entry
    for container, children in subs.items():
        top[container]["subcommands"] = children
    out = pathlib.Path(__file__).resolve().parent.parent / "src/omakase/commands/redis_commands.json"
    out.write_text(json.dumps(top, separators=(",", ":"), sort_keys=True))
    print(f"{len(top)} commands, {sum(map(len, subs.values()))} subcommands -> {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/reference/redis-7.0/commands")
