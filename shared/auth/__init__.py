"""Identity and roles, the same for every service: OIDC bearer tokens (JWT) verified against the
issuer's keys, roles scoped to an assembly, one declared policy per route. See docs/security.md."""

from shared.auth.policy import allow, check_routes, path_uuid, scope_from
from shared.auth.principal import (AUDITOR, FACILITATOR, MEMBER, OPERATOR, ORGANISER, PUBLIC, REGISTRAR, ROLES,
                                   Principal, current_principal)

__all__ = ["allow", "scope_from", "path_uuid", "check_routes", "Principal", "current_principal", "ROLES", "OPERATOR", "ORGANISER",
           "REGISTRAR", "FACILITATOR", "MEMBER", "AUDITOR", "PUBLIC"]
