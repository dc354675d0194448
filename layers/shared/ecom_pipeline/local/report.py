"""`.local/report.html`: what the warehouse holds after the demo, as charts a person wants to look at.

Figures come from the warehouse (all loaded data, not just this run) and the rejects in the data
bucket's mirror; charts are PNGs next to the page (matplotlib, Agg backend, no display needed).
"""

from __future__ import annotations

import csv
import html
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

from ecom_pipeline.contracts import FACT_TRANSACTIONS, REJECT_REASONS
from ecom_pipeline.keys import REJECTS_PREFIX
from ecom_pipeline.local.demo import DemoResult
from ecom_pipeline.warehouse import redacted

# Revenue counts completed sales; refunds and failures are shown by status instead.
REVENUE_STATUS = "Completed"
_PALETTE = ["#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d"]
_CLASS_COLOURS = ["#93c5fd", "#3b82f6", "#1e3a8a"]
_STATUS_COLOURS = {"Completed": "#16a34a", "Pending": "#f59e0b", "Failed": "#dc2626",
                   "Cancelled": "#6b7280", "Refunded": "#7c3aed"}


@dataclass
class Figures:
    revenue_by_day: list[tuple[str, float, int]]
    revenue_by_category: list[tuple[str, float]]
    by_class: list[tuple[str, int, float]]
    by_status: list[tuple[str, int]]
    rejects: dict[str, int]
    totals: dict[str, Any]


def _q(warehouse: Any, sql: str) -> list[tuple[Any, ...]]:
    return list(warehouse.query(sql).rows)


def gather(warehouse_url: str, data_mirror: Path) -> Figures:
    from ecom_pipeline.warehouse import open_warehouse

    fact = FACT_TRANSACTIONS
    revenue = f"SUM(CASE WHEN status = '{REVENUE_STATUS}' THEN total_amount ELSE 0 END)"
    warehouse = open_warehouse(warehouse_url)
    try:
        by_day = _q(warehouse, f"SELECT CAST(transaction_date AS VARCHAR(10)), {revenue}, COUNT(*) "
                               f"FROM {fact} GROUP BY 1 ORDER BY 1")
        by_category = _q(warehouse, f"SELECT category, {revenue} FROM {fact} GROUP BY 1 ORDER BY 2 DESC")
        by_class = _q(warehouse, f"SELECT transaction_class, COUNT(*), {revenue} FROM {fact} GROUP BY 1")
        by_status = _q(warehouse, f"SELECT status, COUNT(*) FROM {fact} GROUP BY 1 ORDER BY 2 DESC")
        (orders, gross, customers, first, last), = _q(
            warehouse, f"SELECT COUNT(*), {revenue}, COUNT(DISTINCT customer_id), "
                       "CAST(MIN(transaction_date) AS VARCHAR(10)), "
                       f"CAST(MAX(transaction_date) AS VARCHAR(10)) FROM {fact}")
    finally:
        warehouse.close()
    class_order = {"Small": 0, "Medium": 1, "Large": 2}
    return Figures(
        revenue_by_day=[(str(d), _f(r), int(n)) for d, r, n in by_day],
        revenue_by_category=[(str(c), _f(r)) for c, r in by_category],
        by_class=sorted([(str(c), int(n), _f(r)) for c, n, r in by_class],
                        key=lambda x: class_order.get(x[0], 9)),
        by_status=[(str(s), int(n)) for s, n in by_status],
        rejects=count_rejects(data_mirror),
        totals={"orders": int(orders or 0), "revenue": _f(gross), "customers": int(customers or 0),
                "first": first, "last": last},
    )


def _f(value: Any) -> float:
    return float(value if value is not None else Decimal(0))


def count_rejects(data_mirror: Path) -> dict[str, int]:
    """Rejected rows by reason, from the reject CSVs the runs wrote to the data bucket."""
    counts: Counter[str] = Counter()
    for path in sorted((data_mirror / REJECTS_PREFIX).rglob("*.csv")) if data_mirror.is_dir() else []:
        with path.open(newline="", encoding="utf-8") as fh:
            counts.update(row.get("reject_reason") or "?" for row in csv.DictReader(fh))
    order = {r.value: i for i, r in enumerate(REJECT_REASONS)}
    return dict(sorted(counts.items(), key=lambda kv: order.get(kv[0], 99)))


# --- charts ---------------------------------------------------------------------------------------
def _money(x: float, _pos: Any = None) -> str:
    if abs(x) >= 1_000_000:
        return f"${x / 1_000_000:,.1f}M"
    return f"${x / 1000:,.0f}k" if abs(x) >= 1000 else f"${x:,.0f}"


def _label_bars(ax: Any, bars: Any, labels: list[str]) -> None:
    ax.margins(y=0.12)  # headroom for the labels above the tallest bar
    for bar, label in zip(bars, labels, strict=True):
        ax.annotate(label, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom",
                    fontsize=9, color="#374151", xytext=(0, 3), textcoords="offset points")


def _style(ax: Any, title: str) -> None:
    ax.set_title(title, loc="left", fontsize=13, fontweight="bold", color="#111827", pad=12)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(colors="#374151", labelsize=9)
    ax.grid(axis="y", color="#e5e7eb", linewidth=0.8)
    ax.set_axisbelow(True)


def _save(fig: Any, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def draw_charts(fig_data: Figures, out_dir: Path) -> dict[str, str]:
    charts: dict[str, str] = {}
    if fig_data.revenue_by_day:
        days = [d for d, _, _ in fig_data.revenue_by_day]
        fig, ax = plt.subplots(figsize=(9, 3.6))
        ax.bar(range(len(days)), [r for _, r, _ in fig_data.revenue_by_day], color=_PALETTE[0], width=0.7)
        step = max(1, len(days) // 12)
        ax.set_xticks(range(0, len(days), step), [d[5:] for d in days[::step]])
        ax.yaxis.set_major_formatter(FuncFormatter(_money))
        _style(ax, f"Revenue per day ({REVENUE_STATUS.lower()} sales)")
        charts["revenue_by_day"] = _save(fig, out_dir / "revenue_by_day.png")
    if fig_data.revenue_by_category:
        cats = fig_data.revenue_by_category[::-1]
        fig, ax = plt.subplots(figsize=(6, 3.6))
        ax.barh([c for c, _ in cats], [r for _, r in cats], color=_PALETTE[1])
        ax.xaxis.set_major_formatter(FuncFormatter(_money))
        _style(ax, "Revenue per category")
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", color="#e5e7eb")
        charts["revenue_by_category"] = _save(fig, out_dir / "revenue_by_category.png")
    if fig_data.by_class:
        fig, ax = plt.subplots(figsize=(6, 3.6))
        names = [c for c, _, _ in fig_data.by_class]
        bars = ax.bar(names, [r for _, _, r in fig_data.by_class], width=0.6,
                      color=_CLASS_COLOURS[: len(names)])
        _label_bars(ax, bars, [f"{n:,} orders" for _, n, _ in fig_data.by_class])
        ax.yaxis.set_major_formatter(FuncFormatter(_money))
        _style(ax, "Revenue per transaction class")
        charts["revenue_by_class"] = _save(fig, out_dir / "revenue_by_class.png")
    if fig_data.by_status:
        fig, ax = plt.subplots(figsize=(6, 3.6))
        names = [s for s, _ in fig_data.by_status]
        bars = ax.bar(names, [n for _, n in fig_data.by_status],
                      color=[_STATUS_COLOURS.get(s, "#9ca3af") for s in names], width=0.6)
        _label_bars(ax, bars, [f"{n:,}" for _, n in fig_data.by_status])
        _style(ax, "Orders by status")
        charts["orders_by_status"] = _save(fig, out_dir / "orders_by_status.png")
    if fig_data.rejects:
        fig, ax = plt.subplots(figsize=(6, 3.6))
        items = list(fig_data.rejects.items())[::-1]
        ax.barh([k for k, _ in items], [v for _, v in items], color=_PALETTE[3])
        _style(ax, "Rejected rows by reason")
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", color="#e5e7eb")
        charts["rejects_by_reason"] = _save(fig, out_dir / "rejects_by_reason.png")
    return charts


# --- page --------------------------------------------------------------------------------------------
_CSS = """
body{font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;margin:0;
background:#f3f4f6;color:#111827}
header{background:#111827;color:#f9fafb;padding:28px 40px}header h1{margin:0 0 6px;font-size:24px}
header p{margin:0;color:#9ca3af}main{padding:24px 40px;max-width:1200px}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:14px;margin-bottom:22px}
.kpi{background:#fff;border-radius:10px;padding:16px 18px;box-shadow:0 1px 2px rgba(0,0,0,.06)}
.kpi b{display:block;font-size:24px;margin-top:4px}.kpi span{color:#6b7280;font-size:13px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:16px}
.card{background:#fff;border-radius:10px;padding:14px;box-shadow:0 1px 2px rgba(0,0,0,.06)}
.card img{width:100%;height:auto}.wide{grid-column:1/-1}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:6px 8px;border-bottom:1px solid #e5e7eb;text-align:right}
th:first-child,td:first-child{text-align:left}.ok{color:#16a34a;font-weight:600}.bad{color:#dc2626;font-weight:600}
footer{color:#6b7280;font-size:12px;padding:10px 40px 30px}
"""


def _kpi(label: str, value: str) -> str:
    return f'<div class="kpi"><span>{html.escape(label)}</span><b>{html.escape(value)}</b></div>'


def render_html(result: DemoResult, figures: Figures, charts: dict[str, str]) -> str:
    t = figures.totals
    rejected = sum(figures.rejects.values())
    kpis = "".join([
        _kpi("Revenue (completed)", f"${t['revenue']:,.2f}"),
        _kpi("Orders in warehouse", f"{t['orders']:,}"),
        _kpi("Customers", f"{t['customers']:,}"),
        _kpi("Days", f"{t['first'] or '-'} → {t['last'] or '-'}"),
        _kpi("Rows rejected", f"{rejected:,}"),
        _kpi("Files archived", f"{len(result.archive_keys):,}"),
    ])
    cards = []
    for name in ("revenue_by_day", "revenue_by_category", "revenue_by_class", "orders_by_status",
                 "rejects_by_reason"):
        if name in charts:
            wide = " wide" if name == "revenue_by_day" else ""
            cards.append(f'<div class="card{wide}"><img src="{charts[name]}" alt="{name}"></div>')
    rows = []
    for run in result.runs:
        css = "ok" if run.state == "SUCCEEDED" else "bad"
        counts = "".join(f"<td>{int(run.accounting.get(k, 0) or 0):,}</td>" for k in (
            "rows_read", "inserted", "updated", "kept_stored", "rows_rejected"))
        rows.append(f"<tr><td>{html.escape(run.run_id[:18])}…</td><td>{len(run.source_keys)}</td>"
                    f'<td class="{css}">{run.state}</td>{counts}<td>{run.seconds:.1f}s</td></tr>')
    runs_table = ("<h2>Glue runs of this demo</h2><div class='card'><table><tr><th>run</th><th>files</th>"
                  "<th>state</th><th>read</th><th>inserted</th><th>updated</th><th>kept</th><th>rejected</th>"
                  "<th>time</th></tr>" + "".join(rows) + "</table></div>") if rows else (
        "<p>No Glue run in this demo: everything was loaded by an earlier run.</p>")
    opts = result.options
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>ecom-pipeline local report</title>
<style>{_CSS}</style></head><body>
<header><h1>E-commerce pipeline — local run</h1>
<p>scenario <b>{html.escape(opts.scenario)}</b> · warehouse {html.escape(redacted(opts.warehouse))} ·
{len(result.generated)} file(s) generated, {len(set(result.processed))} processed,
{len(result.archived_now)} archived now</p>
</header><main><div class="kpis">{kpis}</div><div class="grid">{''.join(cards)}</div>
{runs_table}</main>
<footer>Figures are what the warehouse holds (every loaded day); rejects are counted from the reject files in
the data bucket. Revenue counts completed sales.</footer></body></html>"""


def write_report(result: DemoResult, state_dir: Path) -> Path:
    out_dir = state_dir / "report"
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = gather(result.options.warehouse, state_dir / "s3" / result.data_bucket)
    charts = {k: f"report/{v}" for k, v in draw_charts(figures, out_dir).items()}
    page = state_dir / "report.html"
    page.write_text(render_html(result, figures, charts), encoding="utf-8")
    return page
