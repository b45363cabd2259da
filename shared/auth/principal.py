"""Who is asking: roles scoped to an assembly (tenant), parsed from a token's claims. No I/O."""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field

OPERATOR = "operator"  # global: may create assemblies
ORGANISER = "organiser"
REGISTRAR = "registrar"  # recruitment staff: the only role that sees personal data
FACILITATOR = "facilitator"
MEMBER = "member"  # a drawn panel member; acts only as themselves
AUDITOR = "auditor"  # reads everything of an assembly, changes nothing
PUBLIC = "public"  # no token needed

SCOPED_ROLES = (ORGANISER, REGISTRAR, FACILITATOR, MEMBER, AUDITOR)
GLOBAL_ROLES = (OPERATOR,)
ROLES = (*GLOBAL_ROLES, *SCOPED_ROLES, PUBLIC)

ROLES_CLAIM = "borgerting_roles"  # ["organiser:<assembly uuid>", "operator", ...]
MEMBER_CLAIM = "member_id"


class ClaimsError(ValueError):
    """The token verified, but what it claims makes no sense to us."""


@dataclass(frozen=True)
class Principal:
    subject: str | None = None  # None: anonymous (no token)
    issuer: str | None = None
    grants: frozenset[tuple[str, uuid.UUID | None]] = field(default_factory=frozenset)
    member_id: uuid.UUID | None = None

    @property
    def anonymous(self) -> bool:
        return self.subject is None

    def roles_in(self, assembly_id: uuid.UUID) -> set[str]:
        return {role for role, aid in self.grants if aid == assembly_id}

    @property
    def global_roles(self) -> set[str]:
        return {role for role, aid in self.grants if aid is None}

    @property
    def assemblies(self) -> set[uuid.UUID]:
        return {aid for _, aid in self.grants if aid is not None}

    @property
    def actor(self) -> str:
        """How the audit trail names this principal (pseudonymous ids only)."""
        if self.anonymous:
            return "public"
        if self.member_id is not None:
            return f"member:{self.member_id}"
        return f"{self.issuer}|{self.subject}"


ANONYMOUS = Principal()

# The principal of the current request, for the audit trail (set by the policy dependency).
current_principal: ContextVar[Principal | None] = ContextVar("current_principal", default=None)


def format_grant(role: str, assembly_id: uuid.UUID | str | None = None) -> str:
    return role if assembly_id is None else f"{role}:{assembly_id}"


def principal_from_claims(claims: dict, *, member_issuer: str) -> Principal:
    raw = claims.get(ROLES_CLAIM, [])
    if not isinstance(raw, list) or not all(isinstance(g, str) for g in raw):
        raise ClaimsError(f"the {ROLES_CLAIM} claim must be a list of strings like 'organiser:<assembly id>'")
    grants: set[tuple[str, uuid.UUID | None]] = set()
    for g in raw:
        role, _, aid = g.partition(":")
        if role in GLOBAL_ROLES and not aid:
            grants.add((role, None))
        elif role in SCOPED_ROLES and aid:
            try:
                grants.add((role, uuid.UUID(aid)))
            except ValueError:
                raise ClaimsError(f"role grant {g!r} names no valid assembly id") from None
        else:
            raise ClaimsError(f"unknown or badly scoped role grant {g!r}")
    member_id = None
    if any(role == MEMBER for role, _ in grants):
        try:
            member_id = uuid.UUID(str(claims.get(MEMBER_CLAIM)))
        except ValueError:
            raise ClaimsError(f"a member token needs a {MEMBER_CLAIM} claim with the member's id") from None
        if len(grants) != 1:
            raise ClaimsError("a member token grants the member role in one assembly and nothing else")
    if claims.get("iss") == member_issuer and member_id is None:
        raise ClaimsError("the members' issuer may grant only the member role")
    return Principal(subject=str(claims["sub"]), issuer=claims.get("iss"), grants=frozenset(grants),
                     member_id=member_id)
