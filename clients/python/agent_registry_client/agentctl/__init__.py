"""agentctl: the admin command line of the Agent Registry.

Each module of this package that defines `add_commands(subparsers)` contributes a command group; adding a
module adds commands, with no other edit.
"""
