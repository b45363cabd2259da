"""A Python client for members voting through the API: blinding and unblinding happen here, on the
member's side, exactly as the ballot page does it in the browser.

    async with httpx.AsyncClient(base_url=VOTING_URL) as http:
        c = VotingClient(http)
        ballot = await c.ballot(ballot_id)
        token = await c.get_token(ballot, headers=member_auth_headers)   # blind -> sign -> unblind
        # ... every member gets a token; then an organiser opens voting, which ends the issuing
        # (c.open_voting(ballot, headers=organiser_auth_headers)); then:
        receipt = await c.vote(ballot, {"q1": "yes", "q2": "abstain"}, token)  # no auth header
        entry = await c.find(ballot, receipt)                                  # after close: the choices

Keep the token secret until you vote; send the vote without your login (the ballot box must not
learn who votes). The receipt (position and hash) finds the vote on the public board.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from services.voting.domain.blind_rsa import PublicKey
from services.voting.domain.tokens import VoteToken, finish_token, request_token


class VotingClientError(RuntimeError):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


def _check(r: httpx.Response) -> dict:
    if r.status_code >= 400:
        try:
            err = r.json()["error"]
            raise VotingClientError(r.status_code, err.get("code", ""), err.get("message", ""))
        except (ValueError, KeyError, TypeError):
            raise VotingClientError(r.status_code, "", r.text[:300]) from None
    return r.json()


@dataclass(frozen=True)
class PublishedBallot:
    id: str
    assembly_id: str
    definition: dict[str, Any]
    key: PublicKey
    state: str

    @property
    def question_ids(self) -> list[str]:
        return [q["id"] for q in self.definition["questions"]]


class VotingClient:
    def __init__(self, http: httpx.AsyncClient, base_url: str = "", *, anonymous: httpx.AsyncClient | None = None):
        """`anonymous`: a client without login headers for casting votes (default: `http`)."""
        self.http = http
        self.anonymous = anonymous or http
        self.base = base_url.rstrip("/")

    async def ballot(self, ballot_id: str) -> PublishedBallot:
        d = _check(await self.http.get(f"{self.base}/ballots/{ballot_id}"))
        key = PublicKey.from_pem(d["token_key"]["pem"])
        if key.key_id != d["token_key"]["key_id"]:
            raise VotingClientError(0, "key_mismatch", "the ballot's token key does not match its key id")
        return PublishedBallot(str(d["id"]), str(d["assembly_id"]), d["definition"], key, d["state"])

    async def get_token(self, ballot: PublishedBallot, *, headers: dict[str, str]) -> VoteToken:
        """Blind a fresh token message, have the issuer sign it (as the logged-in member), unblind."""
        req = request_token(ballot.key, ballot.id)
        d = _check(await self.http.post(f"{self.base}/ballots/{ballot.id}/tokens",
                                        json={"blinded_msg": req.blinded_msg.hex()}, headers=headers))
        return finish_token(ballot.key, req, bytes.fromhex(d["blind_sig"]))

    async def open_voting(self, ballot: PublishedBallot, *, headers: dict[str, str] | None = None) -> dict:
        """An organiser's step (their login in `headers`): end the issuing of tokens, start taking
        votes. Returns the ballot (state `open` or `scheduled`) and the counts issued."""
        return _check(await self.http.post(f"{self.base}/ballots/{ballot.id}/open", headers=headers))

    async def vote(self, ballot: PublishedBallot, choices: dict[str, Any], token: VoteToken) -> dict:
        """Cast the vote anonymously: no Authorization header. Returns the receipt."""
        return _check(await self.anonymous.post(f"{self.base}/ballots/{ballot.id}/votes",
                                           json={"choices": choices, "token": token.to_dict()}))

    async def find(self, ballot: PublishedBallot, receipt: dict) -> dict:
        """The board entry a receipt points to (its hash must match)."""
        return _check(await self.http.get(
            f"{self.base}/assemblies/{ballot.assembly_id}/board/entries/{receipt['position']}",
            params={"hash": receipt["hash"]}))
