"""Reviewer accounts in Label Studio Community, through its HTTP interface.

Community has no API to create a user with a password or to read another user's token, so a
reviewer joins as a person would: the admin's invite link (the SDK's ``organizations.invites``), the signup form,
then ``/api/current-user/token`` in that session returns the reviewer's own legacy token."""

from __future__ import annotations

import re

import httpx

from .client import LabelStudio, LabelStudioAPIError


def invite_reviewer(admin: LabelStudio, email: str, password: str) -> str:
    """Create ``email`` in the admin's organisation and return its API token."""
    invite = admin.invite_link()
    token = invite.get("token") or re.search(r"token=([\w-]+)", invite.get("invite_url", "")).group(1)
    with httpx.Client(base_url=admin.url, timeout=60, follow_redirects=True) as session:
        page = session.get("/user/signup/", params={"token": token})
        csrf = session.cookies.get("csrftoken")
        if page.status_code != 200 or not csrf:
            raise LabelStudioAPIError(f"signup page answered {page.status_code} without a CSRF cookie")
        done = session.post(f"/user/signup/?token={token}",
                            data={"email": email, "password": password, "csrfmiddlewaretoken": csrf},
                            headers={"Referer": f"{admin.url}/user/signup/?token={token}"})
        mine = session.get("/api/current-user/token")
        if mine.status_code != 200:
            raise LabelStudioAPIError(f"signing up {email} failed (signup {done.status_code}, token "
                                      f"{mine.status_code}): {done.text[:300]}")
        return mine.json()["token"]
