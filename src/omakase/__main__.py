"""``python -m omakase [redis-server arguments]``: see ``omakase.cli``."""
from omakase.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
