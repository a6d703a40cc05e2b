"""App Home: what a person sees on CodeDesk's Home tab.

- Team leads (user ids in `CODEDESK_TEAM_LEADS`, or members of `CODEDESK_ESCALATION_USERGROUP`,
  read with `usergroups.users.list` and cached for `LEADS_CACHE_S`): this week's top topics (or
  most frequent questions when the log was never clustered), the open low-confidence and 👎
  items, and "Record a decision" buttons. A button opens a modal (decision, effective date, who
  decided, draft); on submit the decision is recorded through the review port
  (`Deps.review.decide`) — written as a team guideline the bot cites after the next ingest — the
  lead gets a confirmation in CodeDesk's Messages tab, and the Home tab is refreshed.
- Everyone else: the guide, and their own recent questions (found by their hashed user id).

Everything is published from the answer pool; only opening the modal happens in the listener
(a `trigger_id` expires after 3 seconds).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from codedesk.bot import blocks as B
from codedesk.bot import blocks_review as R
from codedesk.bot.answering import Deps
from codedesk.bot.config import BotSettings
from codedesk.bot.listeners.common import user_of
from codedesk.errors import CodeDeskError

log = logging.getLogger(__name__)

LEADS_CACHE_S = 300.0  # how long a user group's member list is trusted
LEADS_RETRY_S = 60.0  # after Slack refused the list: retry no sooner than this
RECENT_QUESTIONS = 10
MSG_LOG_OFF = (
    "The answer log is off, so decisions cannot be recorded here. Use `codedesk review decide`."
)
MSG_HOME_UNAVAILABLE = (
    "⚠️ The review log is unavailable right now, so this view is incomplete. Try ↻ Refresh later."
)


class LeadDirectory:
    """Who is a team lead: configured user ids, or members of the escalation user group (cached)."""

    def __init__(
        self,
        bot: BotSettings,
        *,
        ttl_s: float = LEADS_CACHE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.leads = frozenset(bot.team_leads)
        self.usergroup = bot.escalation_usergroup
        self.ttl_s = ttl_s
        self.clock = clock
        self._lock = threading.Lock()
        self._members: frozenset[str] | None = None
        self._until = 0.0

    def is_lead(self, client: WebClient, user: str | None) -> bool:
        if not user:
            return False
        if user in self.leads:
            return True
        return bool(self.usergroup) and user in self.members(client)

    def members(self, client: WebClient) -> frozenset[str]:
        """The user group's members, from the cache while it is fresh."""
        if not self.usergroup:
            return frozenset()
        with self._lock:
            if self._members is not None and self.clock() < self._until:
                return self._members
            try:
                resp = client.usergroups_users_list(usergroup=self.usergroup)
                self._members = frozenset(resp.get("users") or [])
                self._until = self.clock() + self.ttl_s
                log.info(
                    "lead_group_loaded usergroup=%s members=%d", self.usergroup, len(self._members)
                )
            except (
                SlackApiError
            ) as err:  # missing usergroups:read, unknown group…: keep what we knew
                log.warning(
                    "lead_group_unavailable usergroup=%s error=%s",
                    self.usergroup,
                    err.response.get("error"),
                )
                self._members = self._members or frozenset()
                self._until = self.clock() + LEADS_RETRY_S
            except Exception:
                log.exception("lead_group_failed usergroup=%s", self.usergroup)
                self._members = self._members or frozenset()
                self._until = self.clock() + LEADS_RETRY_S
            return self._members


def register(app: App, deps: Deps) -> None:
    directory = LeadDirectory(deps.bot)

    @app.event("app_home_opened")
    def on_home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab") != "home" or not event.get("user"):
            return
        deps.pool.submit("app_home", publish_home, deps, directory, client, event["user"])

    @app.action(R.ACTION_HOME_REFRESH)
    def on_refresh(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        user = user_of(body)
        if user:
            deps.pool.submit("app_home_refresh", publish_home, deps, directory, client, user)

    @app.action(R.ACTION_DECIDE)
    def on_decide(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        user = user_of(body)
        if not directory.is_lead(client, user):
            view = {
                "type": "modal",
                "title": B.plain("Team leads only"),
                "close": B.plain("OK"),
                "blocks": [B.section(R.MSG_NOT_A_LEAD)],
            }
        else:
            ref = B.parse_value(action.get("value"))
            view = R.decision_modal(
                query_id=ref.get("query"),
                topic_id=ref.get("topic"),
                label=str(ref.get("q") or ""),
                today=datetime.now(UTC).date(),
            )
        try:
            client.views_open(trigger_id=body["trigger_id"], view=view)
        except Exception:
            log.exception("decision_modal_failed")

    @app.view(R.DECISION_MODAL)
    def on_decision(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        given = R.decision_input((view.get("state") or {}).get("values") or {})
        errors = R.decision_errors(given)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        deps.pool.submit(
            "record_decision",
            record_decision,
            deps,
            directory,
            client,
            user_of(body),
            B.parse_value(view.get("private_metadata")),
            given,
        )


# ------------------------------------------------------------------------------------------ the views


def home_for(deps: Deps, *, user: str, lead: bool) -> dict[str, Any]:
    """The Home view for `user` (raises when the log cannot be read)."""
    review = deps.review
    if not review.enabled:
        return R.coder_home_view([], logging=False)
    if lead:
        summary = review.week_summary()
        discussions = review.discussions(since=summary.since, until=summary.until)
        return R.lead_home_view(summary, discussions=discussions)
    recent = review.recent_questions(user, limit=RECENT_QUESTIONS)
    if recent is None:  # no user hash to find this person's questions by
        return R.coder_home_view([], logging=False)
    return R.coder_home_view(recent)


def publish_home(deps: Deps, directory: LeadDirectory, client: WebClient, user: str) -> None:
    lead = directory.is_lead(client, user)
    try:
        view = home_for(deps, user=user, lead=lead)
    except Exception:
        log.exception("home_build_failed lead=%s", lead)
        view = B.home_view()
        view["blocks"].append(B.context(MSG_HOME_UNAVAILABLE))
    try:
        client.views_publish(user_id=user, view=view)
    except Exception:
        log.exception("home_publish_failed")


# ------------------------------------------------------------------------------------------ decisions


def _tell(client: WebClient, user: str, text: str) -> None:
    """A message in CodeDesk's Messages tab of `user`."""
    try:
        client.chat_postMessage(channel=user, text=text)
    except Exception:
        log.exception("decision_reply_failed")


def record_decision(
    deps: Deps,
    directory: LeadDirectory,
    client: WebClient,
    user: str | None,
    meta: dict[str, Any],
    given: R.DecisionInput,
) -> None:
    if not user:
        return
    if not directory.is_lead(client, user):
        log.warning("decision_refused reason=not_a_lead")
        _tell(client, user, R.MSG_NOT_A_LEAD)
        return
    if not deps.review.enabled:
        _tell(client, user, MSG_LOG_OFF)
        return
    try:
        topic_id = meta.get("topic")
        if not topic_id:
            topic_id = deps.review.topic_for_query(int(meta["query"]))
        text = _record(deps, int(topic_id), given)
    except Exception as err:
        if isinstance(err, CodeDeskError):  # the review's DecisionError: says what to do
            log.info("decision_refused error=%s", err)
            _tell(client, user, f"⚠️ {err}")
        else:
            log.exception("decision_failed")
            _tell(client, user, f"⚠️ {B.MSG_INTERNAL}")
        return
    _tell(client, user, text)
    publish_home(deps, directory, client, user)


def _record(deps: Deps, topic_id: int, given: R.DecisionInput) -> str:
    """Record the decision and write its team guideline; the confirmation text."""
    result = deps.review.decide(
        topic_id=topic_id,
        text=given.text,
        decided_by=given.decided_by,
        effective=given.effective,
        draft=given.draft,
    )
    log.info(
        "decision_recorded id=%s topic=%s guideline=%s",
        result.decision_id,
        topic_id,
        result.guideline_id,
    )
    return R.decision_recorded_text(result)
