"""API keys: admins create (the secret is returned once), list and revoke; any key can ask
who it is. The library functions write the audit rows."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status

from ... import keys
from ...errors import InputError
from ..deps import Admin, Conn, Reviewer, actor
from ..schemas import KeyCreate, KeyCreated, KeyInfo, Me

router = APIRouter(prefix="/keys", tags=["keys"])


@router.get("/me", response_model=Me)
def whoami(caller: Reviewer) -> Me:
    return Me(name=caller.name, role=caller.role)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=KeyCreated)
def create(body: KeyCreate, conn: Conn, caller: Admin) -> KeyCreated:
    try:
        secret = keys.create_key(conn, body.name, body.role, actor(caller))
    except InputError as exc:  # name and role are validated by KeyCreate: what is left is a taken name
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return KeyCreated(name=body.name, role=body.role, key=secret)


@router.get("", response_model=list[KeyInfo])
def list_all(conn: Conn, _caller: Admin) -> list[dict]:
    return keys.list_keys(conn)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def revoke(name: str, conn: Conn, caller: Admin) -> Response:
    try:
        keys.revoke_key(conn, name, actor(caller))
    except InputError as exc:  # the only one: no active key of that name
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)
