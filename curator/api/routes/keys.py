"""Any key can ask who it is (creating, listing and revoking keys are operations)."""

from __future__ import annotations

from fastapi import APIRouter

from ..deps import Reviewer
from ..schemas import Me

router = APIRouter(prefix="/keys", tags=["keys"])


@router.get("/me", response_model=Me)
def whoami(caller: Reviewer) -> Me:
    return Me(name=caller.name, role=caller.role)
