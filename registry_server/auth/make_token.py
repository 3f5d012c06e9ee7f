"""Makes a token: `python -m registry_server.auth.make_token --name ops --role admin [--user-id alice]`.

Prints the secret token once (give it to the caller) and the auth config entry, which holds only its SHA-256.
"""

from __future__ import annotations

import argparse
import hashlib

import yaml

from registry_server.auth.principal import Role
from registry_server.auth.tokens import CONFIGURABLE_ROLES
from registry_server.domain.opaque_id import new_opaque_id


def main(argv: list[str] | None = None) -> None:
    """Prints a new random token and its auth config entry."""
    parser = argparse.ArgumentParser(prog="python -m registry_server.auth.make_token", description=__doc__)
    parser.add_argument("--name", required=True, help="who holds the token, e.g. jarvis")
    parser.add_argument("--role", action="append", required=True, choices=CONFIGURABLE_ROLES)
    parser.add_argument("--user-id", default="", help="the user a 'user' token acts as")
    args = parser.parse_args(argv)
    if Role.USER.value in args.role and not args.user_id:
        parser.error("--role user needs --user-id")
    token = new_opaque_id(32)
    entry = {"name": args.name, "sha256": hashlib.sha256(token.encode()).hexdigest(), "roles": args.role}
    if args.user_id:
        entry["user_id"] = args.user_id
    print(f"token (give it to {args.name}; it is not stored anywhere): {token}")
    print("auth config entry (add it under 'tokens:'):")
    print(yaml.safe_dump([entry], default_flow_style=None, sort_keys=False), end="")


if __name__ == "__main__":
    main()
