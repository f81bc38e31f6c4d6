"""Registered users for command-line tests: the command line acts only as a registered, active
user with the right role, authenticated by password (asked for) or an API token.

``CliAccounts(url)`` adds one user per role to the record at ``url`` (as the local
administrator, so that victim_data and admin apply at once) and runs ``safeground`` commands as
one of them: ``run(app, args, user="alice")`` appends ``--user alice`` and types the password
at the prompt. Passwords are test data: NAME + "-password".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from typer.testing import CliRunner

#: user name -> roles
CLI_USERS: dict[str, list[str]] = {
    "alice": ["data_entry"],          # submits
    "bob": ["approver"],              # approves
    "carol": ["analyst"],
    "dana": ["data_entry", "approver"],   # may both submit and approve (never her own)
    "victor": ["victim_data"],
    "root": ["admin"],
    "viewer": ["viewer"],
}


def password(name: str) -> str:
    return f"{name}-password"


@dataclass
class CliAccounts:
    url: str
    runner: CliRunner

    @classmethod
    def create(cls, url: str) -> CliAccounts:
        from safeground.record.storage import Database
        from safeground.record.users import Users

        db = Database.open(url)
        users = Users(db)
        for name, roles in CLI_USERS.items():
            users.add(name, password(name), roles, by="test set-up", direct=True)
        db.close()
        return cls(url, CliRunner())

    def run(self, app: Any, args: Sequence[str], *, user: str | None = None,
            typed: str | None = None, input: str = "",
            env: dict[str, str | None] | None = None
            ) -> Any:
        """``safeground ARGS --db URL [--user USER]``, the password typed at the prompt
        (``typed`` instead: a wrong one), then ``input`` on standard input."""
        argv = [*args, "--db", self.url]
        prompt = ""
        if user is not None:
            argv += ["--user", user]
            prompt = (typed if typed is not None else password(user)) + "\n"
        env = {"SAFEGROUND_TOKEN": None, "SAFEGROUND_USER": None, **(env or {})}
        return self.runner.invoke(app, argv, input=prompt + input, env=env,
                                  catch_exceptions=False)

    def token(self, name: str) -> str:
        from safeground.record.storage import Database
        from safeground.record.users import Users

        db = Database.open(self.url)
        try:
            return Users(db).login(name, password(name), kind="token")[1]
        finally:
            db.close()
