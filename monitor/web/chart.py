"""A small bar chart of mentions per day per topic, as SVG geometry computed
here and drawn by the template (no script, no outside asset). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

WIDTH, HEIGHT, TOP, BOTTOM, LEFT = 640, 170, 12, 30, 30


@dataclass
class Bar:
    x: float
    y: float
    w: float
    h: float
    series: int
    label: str


@dataclass
class Chart:
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)    # (x, day label)
    max_count: int = 0
    legend: list[tuple[int, str]] = field(default_factory=list)     # (series, topic)


def mentions_chart(days: list[str], per_topic: list[tuple[str, dict[str, int]]]) -> Chart:
    """Bars grouped by day, one per topic, heights scaled to the busiest day."""
    chart = Chart(WIDTH, HEIGHT, legend=[(i % 6, t) for i, (t, _) in enumerate(per_topic)])
    chart.max_count = max((n for _, counts in per_topic for n in counts.values()), default=0)
    if not days or not per_topic:
        return chart
    slot = (WIDTH - LEFT) / len(days)
    bar_w = max(1.0, (slot - 4) / len(per_topic))
    plot_h = HEIGHT - TOP - BOTTOM
    for d, day in enumerate(days):
        x0 = LEFT + d * slot + 2
        if d % max(1, len(days) // 7) == 0:
            chart.ticks.append((round(x0, 1), day[5:]))
        for i, (topic, counts) in enumerate(per_topic):
            n = counts.get(day, 0)
            h = plot_h * n / chart.max_count if chart.max_count else 0
            chart.bars.append(Bar(round(x0 + i * bar_w, 1), round(TOP + plot_h - h, 1),
                                  round(bar_w, 1), round(h, 1), i % 6, f"{topic} {day}: {n}"))
    return chart
