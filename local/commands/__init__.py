"""What each `python -m local` command does, given its parsed arguments (cli.py parses them).
Errors a user can fix are LocalError or InfraError: cli.py prints them as one line."""

from local.commands.events import cmd_dlq, cmd_events
from local.commands.invoke import cmd_build, cmd_generate_event, cmd_invoke
from local.commands.listing import cmd_list
from local.commands.logs import cmd_logs
from local.commands.tokens import cmd_tokens
from local.commands.up import cmd_up

__all__ = ["cmd_build", "cmd_dlq", "cmd_events", "cmd_generate_event", "cmd_invoke", "cmd_list", "cmd_logs", "cmd_tokens", "cmd_up"]
