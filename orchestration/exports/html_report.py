"""The game team's report: one static HTML file, readable offline and attachable to a mail.

Everything is inline: the CSS, the plots (PNG data URIs), and a few lines of vanilla JavaScript
that filter the table of players at risk who are still reachable as one types. No request leaves
the page.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

import pandas as pd

from ml.score import HIGH_RISK, MEDIUM_RISK, TIERS
from orchestration.exports.plots import (
    risk_distribution_png,
    tiers_over_time_png,
    top_drivers,
    top_drivers_png,
)
from orchestration.exports.segments import (
    LAST_PLAYED,
    TENURE,
    at_risk,
    by_risk,
    reachable,
    reachable_rule,
)
from orchestration.exports.tables import REASONS_TEXT, ScoredDay

# Beyond this, the table shows the most at risk and points to the CSV (a page stays light).
MAX_TABLE_ROWS = 5_000

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1180px;
padding:24px;color:#1f2933;background:#fafbfc}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 8px}
.muted{color:#616e7c}.cards{display:flex;flex-wrap:wrap;gap:12px;margin:20px 0}
.card{background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:12px 16px;min-width:130px}
.card b{display:block;font-size:22px}.plots{display:flex;flex-wrap:wrap;gap:16px}
figure{margin:0;background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:8px;
flex:1 1 480px;max-width:570px}figure img{display:block;width:100%;height:auto}
figcaption{font-size:12px;color:#616e7c;padding:4px}
input[type=search]{font:inherit;padding:6px 10px;width:360px;border:1px solid #9aa5b1;
border-radius:6px}
table{border-collapse:collapse;width:100%;background:#fff;margin-top:10px}
th,td{border-bottom:1px solid #e4e7eb;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f0f4f8;position:sticky;top:0}td.num{text-align:right;white-space:nowrap}
td ul{margin:0;padding-left:18px}.tier-High{color:#c0392b;font-weight:600}
.tier-Medium{color:#b9590b;font-weight:600}code{background:#f0f4f8;padding:0 4px}
"""

# Filters the rows by every word typed (player, tier, reason...), case-insensitive.
_SEARCH_JS = """
const input = document.getElementById('search');
const rows = Array.from(document.querySelectorAll('#at-risk-table tbody tr'));
const shown = document.getElementById('shown');
function filter() {
  const words = input.value.toLowerCase().split(/\\s+/).filter(Boolean);
  let visible = 0;
  for (const row of rows) {
    const text = row.textContent.toLowerCase();
    row.hidden = !words.every((w) => text.includes(w));
    if (!row.hidden) visible += 1;
  }
  shown.textContent = visible.toLocaleString('en-US') + ' of ' +
    rows.length.toLocaleString('en-US') + ' shown';
}
input.addEventListener('input', filter);
filter();
"""


def _img(data_uri: str, element_id: str, alt: str, caption: str) -> str:
    return (
        f'<figure><img id="{element_id}" alt="{escape(alt)}" src="{data_uri}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def last_played(days: object) -> str:
    if days is None or pd.isna(days):
        return "unknown"
    days = int(days)  # type: ignore[call-overload]
    return {0: "today", 1: "yesterday"}.get(days, f"{days:,} days ago")


def _row(position: int, player: pd.Series) -> str:
    reasons = str(player.get(REASONS_TEXT) or "")
    items = "".join(f"<li>{escape(r)}</li>" for r in reasons.split("; ") if r)
    tenure = player.get(TENURE)
    tier = escape(str(player["risk_tier"]))
    return (
        f'<tr><td class="num">{position:,}</td><td><code>{escape(str(player["user_id"]))}</code>'
        f'</td><td class="num">{player["churn_probability"]:.1%}</td>'
        f'<td class="tier-{tier}">{tier}</td><td>{last_played(player.get(LAST_PLAYED))}</td>'
        f'<td class="num">{"" if tenure is None or pd.isna(tenure) else f"{int(tenure):,} d"}'
        f"</td><td><ul>{items}</ul></td></tr>"
    )


def _cards(day: ScoredDay, listed: int) -> str:
    tiers = day.scores["risk_tier"].value_counts()
    cards = [("players scored", f"{len(day.scores):,}")]
    cards += [(f"{tier} risk", f"{int(tiers.get(tier, 0)):,}") for tier in TIERS]
    cards.append(("at risk, still reachable", f"{listed:,}"))
    return "".join(f'<div class="card"><b>{v}</b>{escape(k)}</div>' for k, v in cards)


def render_report(day: ScoredDay, exported_at: datetime) -> str:
    """The report of one scoring date, as a complete HTML document."""
    scores = day.scores
    listed = by_risk(scores[at_risk(scores) & reachable(scores)])
    drivers = top_drivers(scores, day.reasons)
    shown = listed.head(MAX_TABLE_ROWS)
    rows = "".join(_row(i + 1, player) for i, (_, player) in enumerate(shown.iterrows()))
    cut = (
        f" The {MAX_TABLE_ROWS:,} most at risk are listed; all are in <code>scores.csv</code>."
        if len(listed) > MAX_TABLE_ROWS
        else ""
    )
    lapsed = int((at_risk(scores) & ~reachable(scores)).sum())
    versions = ", ".join(day.model_versions) or "unknown"
    plots = "".join(
        [
            _img(
                risk_distribution_png(scores),
                "risk-distribution",
                "risk distribution",
                f"Players by churn probability; tiers: High >= {HIGH_RISK:.0%}, "
                f"Medium >= {MEDIUM_RISK:.0%}, else Low.",
            ),
            _img(
                tiers_over_time_png(day.tiers_over_time),
                "tiers-over-time",
                "tiers over time",
                "Players per risk tier on every scoring date so far.",
            ),
            _img(
                top_drivers_png(drivers),
                "top-drivers",
                "top drivers",
                "The reasons most often given for the players at risk (TreeSHAP).",
            ),
        ]
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Churn risk on {day.scoring_date:%Y-%m-%d}</title><style>{_CSS}</style></head>
<body>
<h1>Churn risk on {day.scoring_date:%Y-%m-%d}</h1>
<p class="muted">Model {escape(versions)} &middot; exported {exported_at:%Y-%m-%d %H:%M} UTC
&middot; probabilities of churning within the model's horizon, calibrated.</p>
<div class="cards">{_cards(day, len(listed))}</div>
<section class="plots">{plots}</section>
<section id="at-risk">
<h2>Players at risk who are still reachable</h2>
<p class="muted">High or Medium risk, and reachable ({escape(reachable_rule(scores))}); most at
risk first. {lapsed:,} more players at risk have lapsed: they are in <code>scores.csv</code>.{cut}
</p>
<input id="search" type="search" placeholder="Search a player, a tier, a reason..."
 aria-label="search the players at risk"> <span id="shown" class="muted"></span>
<table id="at-risk-table"><thead><tr><th>#</th><th>player</th><th>churn probability</th>
<th>tier</th><th>last played</th><th>tenure</th><th>reasons</th></tr></thead>
<tbody>{rows}</tbody></table>
</section>
<p class="muted">Files beside this report: <code>scores.parquet</code>, <code>scores.csv</code>,
<code>reasons.parquet</code>, <code>reasons.csv</code>, <code>tiers_over_time.csv</code>;
segments: <code>respawn scores</code>.</p>
<script>{_SEARCH_JS}</script>
</body></html>
"""
