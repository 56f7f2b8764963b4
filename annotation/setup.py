"""``curator review setup``: the review and adjudication projects, their webhooks, our records.

Idempotent: projects are found by title and updated in place, the webhook is patched, never
duplicated; a second run changes only what differs."""

from __future__ import annotations

import duckdb

from curator.config import Settings
from curator.audit import record_audit
from curator.sqlfiles import query
from curator.store import transaction

from .client import LabelStudio
from .db import fetch
from .labeling import HTML_FIELDS, config_hash, labeling_config
from .record import remember_users

ADJUDICATION_SUFFIX = " / adjudication"
INSTRUCTIONS = {
    "review": ("Read what the model is given and, where there is one, the source (the turns or passage under "
               "review are highlighted). Every box is a turn the model will learn from: correct any of them "
               "directly in its box. Then choose \"Accept\" if every box is right as it is, \"Accept with my "
               "edits\" if you corrected a box, or \"Reject\" with the reasons (\"Other\" needs a word on what "
               "is wrong). Rate correctness and style from 1 to 5. Not your field, or unsure? Press Skip: the "
               "task goes to another reviewer."),
    "adjudication": ("Reviewers disagreed on this example. Their answers are listed; give the verdict that "
                     "counts, with the final text in the boxes when you choose \"Accept with my edits\"."),
}


def project_titles(settings: Settings) -> dict[str, str]:
    return {"review": settings.label_studio_project,
            "adjudication": settings.label_studio_project + ADJUDICATION_SUFFIX}


def setup_projects(conn: duckdb.DuckDBPyConnection, client: LabelStudio, settings: Settings, actor: str) -> dict:
    known = {r["role"]: r for r in fetch(conn, "review.projects")}
    report = {}
    for role, title in project_titles(settings).items():
        config = labeling_config(adjudication=role == "adjudication")
        fields = {"title": title, "label_config": config, "expert_instruction": INSTRUCTIONS[role],
                  "show_instruction": True, "show_skip_button": True,
                  "skip_queue": "REQUEUE_FOR_OTHERS", "enable_empty_annotation": False,
                  "show_overlap_first": True, "maximum_annotations": 1 if role == "adjudication"
                  else (known.get(role, {}).get("overlap") or 1)}
        project = client.find_project(title)
        if project is None:
            project, action = client.create_project(**fields), "created"
        elif project.get("label_config") != config or known.get(role, {}).get("config_hash") != config_hash(config):
            project, action = client.update_project(project["id"], **fields), "updated"
        else:
            action = "unchanged"
        webhook_id = client.ensure_webhook(project["id"], settings.webhook_url, settings.webhook_secret)
        client.hide_columns(project["id"], list(HTML_FIELDS))
        overlap = known.get(role, {}).get("overlap") or 1
        with transaction(conn):
            conn.execute(query("review.upsert_project"), {
                "ls_project_id": project["id"], "role": role, "title": title, "config_hash": config_hash(config),
                "overlap": overlap, "webhook_id": webhook_id})
            if action != "unchanged":
                record_audit(conn, actor, f"review.project_{action}", f"label-studio:{project['id']}",
                             {"role": role, "title": title})
        report[role] = {"ls_project_id": project["id"], "title": title, "action": action,
                        "webhook_id": webhook_id, "url": f"{client.url}/projects/{project['id']}"}
    with transaction(conn):
        remember_users(conn, client.users())
    return report


def project_ids(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """{role: Label Studio project id}; an error naming the command when setup never ran."""
    found = {r["role"]: r["ls_project_id"] for r in fetch(conn, "review.projects")}
    if "review" not in found:
        from curator.errors import CuratorError

        raise CuratorError("no review project yet: run `curator review setup` first")
    return found
