"""The query log and team-lead review: SQLModel tables, PHI scrubbing, retention, a durable
local queue for when the database is down, and (later) clustering and reports.

Entry points: `review.log.QueryLogger` (used by the CLI and the bot), `review.scrub.scrub`,
`review.migrate.upgrade`, `review.retention.purge`, `review.cli.db_app`.
"""
