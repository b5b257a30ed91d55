// Inline SVG charts, drawn with DOM calls only (no innerHTML: every label is text).
const NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function frame(width, height, label) {
  return svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": label });
}

/** The funnel: one bar per stage, its count and the share of the first stage. */
export function funnelChart(stages) {
  const width = 720, row = 44, height = stages.length * row + 8;
  const top = Math.max(1, stages[0]?.count || 0);
  const chart = frame(width, height, "lead funnel");
  stages.forEach((stage, i) => {
    const y = i * row + 4, w = Math.max(2, (stage.count / top) * 400), x = 190 + (400 - w) / 2;
    chart.append(svg("text", { x: 0, y: y + 24 }, stage.stage.replaceAll("_", " ")));
    chart.append(svg("rect", { class: "bar" + (i % 2 ? " alt" : ""), x, y, width: w, height: row - 8, rx: 3 }));
    const share = stages[0].count ? Math.round((stage.count / stages[0].count) * 100) : 0;
    chart.append(svg("text", { x: 610, y: y + 24 },
      `${stage.count} (${share}%)`));
  });
  return chart;
}

/** Horizontal bars for labelled counts (disqualification reasons, grades). */
export function barList(entries, label) {
  const width = 480, row = 26, height = Math.max(1, entries.length) * row + 4;
  const top = Math.max(1, ...entries.map(([, n]) => n));
  const chart = frame(width, height, label);
  entries.forEach(([name, n], i) => {
    const y = i * row + 2;
    chart.append(svg("text", { x: 0, y: y + 16 }, name));
    chart.append(svg("rect", { class: "bar", x: 170, y, width: Math.max(2, (n / top) * 250), height: row - 8, rx: 2 }));
    chart.append(svg("text", { x: 170 + Math.max(2, (n / top) * 250) + 6, y: y + 16 }, String(n)));
  });
  return chart;
}

/** A score distribution: buckets [{from, to, count}] as columns, at least 0-100 with empty ones. */
export function histogram(found, label) {
  const width10 = found.length ? found[0].to - found[0].from + 1 : 10;
  const low = Math.min(0, ...found.map((b) => b.from)), high = Math.max(90, ...found.map((b) => b.from));
  const buckets = [];
  for (let from = low; from <= high; from += width10) {
    buckets.push(found.find((b) => b.from === from) || { from, to: from + width10 - 1, count: 0 });
  }
  const width = 480, height = 180, base = 150, n = Math.max(1, buckets.length);
  const top = Math.max(1, ...buckets.map((b) => b.count));
  const step = (width - 20) / n;
  const chart = frame(width, height, label);
  buckets.forEach((b, i) => {
    const h = (b.count / top) * (base - 20), x = 10 + i * step;
    chart.append(svg("rect", { class: "bar", x: x + 2, y: base - h, width: Math.max(2, step - 4), height: h, rx: 2 }));
    if (b.count) chart.append(svg("text", { x: x + step / 2, y: base - h - 4, "text-anchor": "middle" }, String(b.count)));
    chart.append(svg("text", { x: x + step / 2, y: base + 16, "text-anchor": "middle" }, String(b.from)));
  });
  chart.append(svg("line", { x1: 10, x2: width - 10, y1: base, y2: base, stroke: "#999" }));
  return chart;
}

/** A score's breakdown: one signed bar per line around a zero axis. */
export function breakdownChart(lines) {
  const width = 640, row = 24, height = Math.max(1, lines.length) * row + 4, mid = 420;
  const top = Math.max(1e-9, ...lines.map((l) => Math.abs(l.points)));
  const chart = frame(width, height, "score breakdown");
  lines.forEach((line, i) => {
    const y = i * row + 2, w = (Math.abs(line.points) / top) * 200;
    chart.append(svg("text", { x: 0, y: y + 15 }, line.rule_id.length > 48 ? line.rule_id.slice(0, 47) + "…" : line.rule_id));
    chart.append(svg("rect", { class: line.points >= 0 ? "pos" : "neg", x: line.points >= 0 ? mid : mid - w, y, width: Math.max(1, w), height: row - 8 }));
  });
  chart.append(svg("line", { x1: mid, x2: mid, y1: 0, y2: height, stroke: "#999" }));
  return chart;
}
