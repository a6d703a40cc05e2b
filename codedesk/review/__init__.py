"""The query log and team-lead review: SQLModel tables, PHI scrubbing, retention, a durable
local queue for when the database is down, frequent-question topics, reports and decisions.

Entry points: `codedesk.review.log.QueryLogger` (used by the CLI and the bot), `codedesk.phi.scrub.scrub`,
`codedesk.review.migrate.upgrade`, `codedesk.review.retention.purge`, `codedesk.review.topics.refresh_topics`,
`codedesk.review.report.generate_report` (and `to_markdown` / `topics_csv` / `items_csv` / `to_html`),
`codedesk.review.decide.decide`, `codedesk.review.cli.db_app` and `codedesk.review.cli.review_app`.
"""
