"""The caller of a request, as resolved from its bearer token."""

import enum
import uuid
from dataclasses import dataclass


class Role(enum.Enum):
    OWNER = "owner"
    AUDITOR = "auditor"
    MEMBER = "member"


class Service(enum.Enum):
    CHATD = "chatd"


@dataclass(frozen=True, slots=True)
class Principal:
    token_id: uuid.UUID
    #: Set for a user's token; None for a service token.
    user_id: uuid.UUID | None
    role: Role | None
    service: Service | None

    @property
    def is_service(self) -> bool:
        return self.service is not None
