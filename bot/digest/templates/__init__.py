"""The digest's wording, as jinja2 templates: one per Block Kit block, over a `DigestContent` named `c`.

Kept as strings in a package (not loose files) so that they ship in any install without package-data
rules. Every `{{ value }}` is escaped for Slack mrkdwn unless a filter marked it as mrkdwn already
(`code`, `mention`, `when`, the emoji filters); `header` is plain text and is not escaped. List
templates render a title line then one line per item: the renderer cuts whole lines to Slack's limits.
"""

from __future__ import annotations

PLAIN = frozenset({"header"})

TEMPLATES: dict[str, str] = {
    "header": "Seldon digest · {{ c.tenant }}",
    "quiet": (
        ":white_check_mark: *{{ c.tenant }}* is healthy: {{ c.servers | length }} Server{{ c.servers | plural }}, "
        "{{ c.models.ready }}/{{ c.models.total }} Models Ready · "
        "{% if c.since %}no change since {{ c.since | when }}{% else %}first digest{% endif %}"
    ),
    "meta": (
        "{% if c.slot %}Scheduled for {{ c.slot | when }}{% else %}On request at {{ c.generated_at | when }}{% endif %}"
        " · {% if c.since %}changes since the digest of {{ c.since | when }}"
        "{% else %}first digest: activity of the last 24 h{% endif %}"
    ),
    "error": ":exclamation: *{{ c.tenant }}* could not be read: {{ c.error }}",
    "headline": "{{ c | verdict_emoji }} *{{ c.headline }}*",
    "runtime": (
        "{% if c.runtime %}*SeldonRuntime* {{ c.runtime | code }}: "
        "{% for comp in c.components %}{{ comp.ready | ready_emoji }} {{ comp.name }}"
        "{% if not loop.last %} · {% endif %}{% endfor %}"
        "{% else %}:x: *No SeldonRuntime* in {{ c.tenant }}: nothing can be scheduled{% endif %}"
    ),
    "servers": """\
*Servers* ({{ c.servers | length }})
{% for s in c.servers %}{{ s.ready | ready_emoji }} {{ s.name | code }} \
{{ s.ready_replicas if s.ready_replicas is not none else '?' }}/{{ s.desired_replicas \
if s.desired_replicas is not none else '?' }} replicas ready\
{% if s.capacity %} · {{ s.capacity }} per replica{% endif %}\
{% if s.loaded_models is not none %} · {{ s.loaded_models }} model{{ s.loaded_models | plural }} loaded{% endif %}
{% endfor %}""",
    "models": """\
*Models* {{ c.models.ready }}/{{ c.models.total }} Ready
{% for m in c.models.failing %}:x: {{ m.name | code }} {{ m.state }}{% if m.reason %}: {{ m.reason }}{% endif %}
{% endfor %}""",
    "connectivity": """\
*Connectivity* {{ c.connectivity.ok }}/{{ c.connectivity.total }} paths ok
{% for p in c.connectivity.problems %}:no_entry: {{ p }}
{% endfor %}""",
    "new": """\
{% if c.since %}*New since {{ c.since | when }}*{% else %}*Findings*{% endif %}
{% for f in c.new_findings %}{{ f.severity | severity_emoji }} {{ f.summary }}
{% endfor %}""",
    "resolved": """\
*Resolved*
{% for f in c.resolved_findings %}:white_check_mark: {{ f.summary }}
{% endfor %}""",
    "ongoing": """\
*Still open*
{% for f in c.ongoing_findings %}{{ f.severity | severity_emoji }} {{ f.summary }}
{% endfor %}""",
    "proposals": """\
*Open proposals*
{% for p in c.proposals %}:hourglass_flowing_sand: {{ p.title }} · {{ p.state | lower }} · \
requested by {{ p.requester.id | mention }} {{ p.requested_at | when }}
{% endfor %}""",
    "remediations": """\
*Remediations since {{ c.since | when if c.since else 'yesterday' }}*
{% for r in c.remediations %}{{ r.outcome | outcome_emoji }} {{ r.time | when }} {{ r.what }}: {{ r.step }}\
{% if r.outcome != 'ok' %} ({{ r.outcome }}){% endif %} · by {{ r.actor.id | mention }}\
{% if r.approver %}, approved by {{ r.approver.id | mention }}{% endif %}
{% endfor %}""",
    "problems": ":exclamation: Not everything could be read: {{ c.collection_problems | join('; ') }}",
    "fallback": (
        "Seldon digest for {{ c.tenant }}: "
        "{% if c.error %}could not be read{% elif c.quiet %}healthy, no change{% else %}{{ c.headline }}{% endif %}"
    ),
}
