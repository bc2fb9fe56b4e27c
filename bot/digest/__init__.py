"""Scheduled tenant health digests, posted once per tenant and slot however many replicas run.

Modules, in the order a scheduled digest goes through them:

* `schedule` — standard cron in a time zone (APScheduler 3 reads weekdays differently), slot arithmetic
* `plan` — each tenant's effective schedule: the config file, overridden from Slack
* `leader` — `coordination.k8s.io/v1` Lease election: only the leader schedules
* `jobs` — APScheduler (job store in the store's database, coalescing, misfire grace time)
* `runtime` — `start_digests()`: election, scheduler and the leader's sweep, wired together
* `collect` — one LIST per kind for all due tenants, logs only where checks need them
* `runner` — claim the slot, post, mark posted, record the findings shown
* `content`, `blocks`, `templates` — what a digest says, and how (jinja2 into Block Kit)
* `state` — the digest tables (schedules set from Slack, findings shown)
* `command`, `slack` — `/seldon digest`; `bot.cli_digest` — `seldon-chatops digest`
"""
