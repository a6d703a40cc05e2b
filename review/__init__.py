"""The query log and team-lead review: SQLModel tables, PHI scrubbing, retention, a durable
local queue for when the database is down, frequent-question topics, reports and decisions.

Entry points: `review.log.QueryLogger` (used by the CLI and the bot), `review.scrub.scrub`,
`review.migrate.upgrade`, `review.retention.purge`, `review.topics.refresh_topics`,
`review.report.generate_report` (and `to_markdown` / `topics_csv` / `items_csv` / `to_html`),
`review.decide.decide`, `review.cli.db_app` and `review.cli.review_app`.
"""
