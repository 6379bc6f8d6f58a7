"""Log in with an e-mail and password, then read the account's subscription and information.

Run: `python examples/login.py` (against a fake NovelAI: see _setup.py).
"""

from __future__ import annotations

import os

from _setup import novelai_environment

from nai_sdk import NovelAI
from nai_sdk.errors import AuthenticationError


def main() -> None:
    with novelai_environment():
        email, password = os.environ["NAI_USERNAME"], os.environ["NAI_PASSWORD"]

        # The client keeps only the keys derived from the e-mail and password, never the password itself. It logs
        # in on its first request; login() does it now, so that a wrong password shows up here.
        with NovelAI(email=email, password=password) as nai:
            nai.login()
            subscription = nai.account.subscription()
            information = nai.account.information()
            print(f"logged in: tier {subscription.tier:g}, active {subscription.active}")
            print(f"e-mail verified: {information.email_verified}")

        # A wrong password is an AuthenticationError (HTTP 401) like any other refused credential.
        try:
            with NovelAI(email=email, password=password + "-wrong") as nai:
                nai.login()
        except AuthenticationError as exc:
            print(f"wrong password refused: {exc.status_code}")


if __name__ == "__main__":
    main()
