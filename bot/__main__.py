"""`python -m bot` is the same as the `watchdesk` command."""

from bot.cli import main

raise SystemExit(main())
