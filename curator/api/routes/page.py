"""GET /: the stewards' stats page (versions, progress by source, counts, charts), GET /rejected:
the rejected examples as a readable list, and the key login behind them.

The page is rendered on the server with inline SVG charts (curator/web/charts.py), so it needs
no script or network. Logging in posts a key once; what comes back is an HttpOnly cookie holding
a signed, expiring session (api/sessions.py), never the key, which the API's dependencies accept
like a Bearer header.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Annotated, Optional

from fastapi import APIRouter, Form, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from ... import stats
from ...errors import InputError
from ...versions.errors import VersionNotFound
from ...keys import Principal, verify_key
from ...training_compare import latest_per_dataset
from ...store import rows
from ...web import charts, labels
from .. import csrf, sessions
from ..deps import KEY_COOKIE, Conn, SettingsDep

router = APIRouter(tags=["page"], include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parents[2] / "web" / "templates"))
templates.env.filters["reason_label"] = labels.reason_label
templates.env.filters["reason_title"] = labels.reason_title


def _login_page(request: Request, error: str | None = None, code: int = 200) -> HTMLResponse:
    """The form, with a CSRF token bound to the browser's pre-session cookie (set here)."""
    binding = csrf.presession(request.cookies)
    response = templates.TemplateResponse(request, "login.html", {
        "error": error, "csrf_token": csrf.token(request.app.state.session_secret, binding)}, status_code=code)
    response.set_cookie(csrf.PRESESSION_COOKIE, binding, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    return _login_page(request)


@router.post("/login")
def login(request: Request, conn: Conn, settings: SettingsDep, key: Annotated[str, Form()],
          csrf_token: Annotated[str, Form()] = "") -> Response:
    secret = request.app.state.session_secret
    if not csrf.valid(secret, request.cookies.get(csrf.PRESESSION_COOKIE), csrf_token):
        return _login_page(request, csrf.refusal("post the login form of this service"), status.HTTP_403_FORBIDDEN)
    principal = verify_key(conn, key.strip())
    if principal is None:
        return _login_page(request, "invalid or revoked API key", status.HTTP_401_UNAUTHORIZED)
    response = RedirectResponse("/", status_code=status.HTTP_303_SEE_OTHER)
    token = sessions.issue(conn, principal, secret, settings.session_ttl_s)
    response.set_cookie(KEY_COOKIE, token, httponly=True, samesite="strict", path="/",
                        max_age=settings.session_ttl_s, secure=request.url.scheme == "https")
    response.delete_cookie(csrf.PRESESSION_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    """End the session for good: the token is revoked here, not only deleted from the browser.
    The form carries the session's CSRF token (or a script sends it in X-CSRF-Token)."""
    token = request.cookies.get(KEY_COOKIE)
    if token:
        sent = csrf_token or request.headers.get(csrf.HEADER)
        if not csrf.valid(request.app.state.session_secret, token, sent):
            return JSONResponse({"detail": csrf.refusal("log out with the page's own button")},
                                status.HTTP_403_FORBIDDEN)
        request.app.state.revoked_sessions.add(token)
    response = RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(KEY_COOKIE, path="/")
    return response


def _charts(store: dict, scoped: dict) -> dict:
    funnel = dict(store["funnel"])
    if scoped["scope"] == "version":
        funnel["in_version"] = scoped["lengths"]["examples"]
    agreement = store["reviews"]["agreement"]
    labels, values = [], []
    if agreement["pairs"]:
        labels += ["verdict (all pairs)", "keep or reject"]
        values += [agreement["verdict"], agreement["keep_or_reject"]]
        for pair in agreement["by_pair"]:
            labels.append(f"{pair['reviewer_a']} · {pair['reviewer_b']}")
            values.append(pair["rate"])
    lengths = []
    for role, data in scoped["lengths"]["roles"].items():
        if data["histogram"] or role != "system":
            lengths.append(charts.vertical_bars(f"lengths-{role}", f"{role} length ({scoped['lengths']['unit']})",
                                                [b["bin"] for b in data["histogram"]],
                                                [b["n"] for b in data["histogram"]]))
    by_split = scoped["counts"].get("by_split")
    qa = store.get("quality") or {"checked": 0, "by_rule": {}}
    return {
        "quality": charts.horizontal_bars("quality", f"quality filters ({qa['checked']} checked, "
                                          f"{qa.get('kept', 0)} kept; flagged per rule)",
                                          ["kept", *qa["by_rule"]], [qa.get("kept", 0), *qa["by_rule"].values()])
        if qa["checked"] else None,
        "funnel": charts.horizontal_bars("funnel", "status funnel", [k.replace("_", " ") for k in funnel],
                                         list(funnel.values())),
        "agreement": charts.horizontal_bars("agreement", f"reviewer agreement ({agreement['pairs']} pairs, "
                                            f"kappa {agreement['kappa'] if agreement['kappa'] is not None else '-'})",
                                            labels, values, scale_max=1.0, percent=True),
        "splits": charts.vertical_bars("splits", "examples per split", list(by_split), list(by_split.values()))
        if by_split is not None else None,
        "lengths": lengths,
    }


def _steward(request: Request, conn) -> tuple[Principal, str | None] | Response:
    """The steward behind a Bearer key or the session cookie (and that cookie's token, for the
    logout form), or the response that sends anyone else to the login form."""
    auth = request.headers.get("authorization", "")
    token = None
    if auth.lower().startswith("bearer "):
        who = verify_key(conn, auth[7:].strip())
    else:
        token = request.cookies.get(KEY_COOKIE)
        who = sessions.verify(conn, token, request.app.state.session_secret,
                              request.app.state.revoked_sessions) if token else None
    if who is None:
        return RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
    if not who.can("steward"):
        return _login_page(request, f"key {who.name!r} has the {who.role} role; the stats page needs steward",
                           status.HTTP_403_FORBIDDEN)
    return who, token


@router.get("/", response_class=HTMLResponse)
def page(request: Request, conn: Conn, settings: SettingsDep,
         version: Annotated[Optional[str], Query()] = None) -> Response:
    steward = _steward(request, conn)
    if isinstance(steward, Response):
        return steward
    who, token = steward
    store = stats.store_report(conn, settings.stats_tokenizer, settings.max_seq_len, settings.stats_cache)
    try:
        scoped = stats.version_report(conn, version, settings.stats_tokenizer, settings.max_seq_len,
                                      settings.stats_cache) \
            if version else store
    except (InputError, VersionNotFound) as exc:
        return HTMLResponse(f"<p class='error' id='error'>{escape(str(exc))}</p><p><a href='/'>back</a></p>",
                            status.HTTP_404_NOT_FOUND)
    counts = [("source", scoped["counts"]["by_source"]), ("kind", scoped["counts"]["by_kind"]),
              ("split" if version else "status", scoped["counts"].get("by_split") or scoped["counts"].get("by_status"))]
    review = next((p for p in rows(conn, "review.projects", {}) if p["role"] == "review"), None)
    links = {"label_studio": f"{settings.label_studio_url.rstrip('/')}/projects/{review['ls_project_id']}"
             if review else settings.label_studio_url, "rejected": "/rejected"}
    return templates.TemplateResponse(request, "stats.html", {
        "links": links, "who": who, "version": version, "versions": store["versions"], "store": store,
        "progress": store["counts"]["by_source_status"], "statuses": stats.STATUSES,
        "scope_label": scoped.get("version", "whole store"), "lengths": scoped["lengths"],
        "counts": counts, "charts": _charts(store, scoped), "generation": scoped["generation"],
        "runs_compared": latest_per_dataset(conn),
        "csrf_token": csrf.token(request.app.state.session_secret, token) if token else "",
    })


@router.get("/rejected", response_class=HTMLResponse)
def rejected(request: Request, conn: Conn, settings: SettingsDep,
             limit: Annotated[int, Query(ge=1, le=1000)] = 100,
             offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> Response:
    """The rejected examples, newest rejection first: reasons in the words of the reviewer's
    buttons, comments, reviewers, and links to the example and to its Label Studio task."""
    steward = _steward(request, conn)
    if isinstance(steward, Response):
        return steward
    who, token = steward
    found = stats.rejected_examples(conn, limit, offset)
    ls_url = settings.label_studio_url.rstrip("/")
    for item in found["items"]:
        item["task_url"] = f"{ls_url}/projects/{item['ls_project_id']}/data?task={item['ls_task_id']}" \
            if item["ls_task_id"] is not None else None
    return templates.TemplateResponse(request, "rejected.html", found | {
        "who": who, "csrf_token": csrf.token(request.app.state.session_secret, token) if token else ""})
