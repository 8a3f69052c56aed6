/**
 * bench/results.png: one group of bars per workload, one bar per store, each bar the workload's
 * requests/s as a share of its composite ceiling, a tick where its target lies. Drawn as SVG and
 * rasterised by rsvg-convert (Debian librsvg2-bin): no renderer binaries fetched at run time.
 */

import { writeFileSync } from "node:fs";
import { $ } from "bun";
import type { Results } from "./results";
import { FLOOR_SHARE, targetOfCeiling } from "./targets";
import { WORKLOADS } from "./workloads";

const COLORS = ["#2f6db5", "#6aa84f", "#e69138", "#c0504d", "#8064a2"];
const W = 960;
const H = 480;
const LEFT = 70;
const RIGHT = 20;
const TOP = 80;
const BOTTOM = 90;
const MAX = 1.2; // the y axis ends at 120 % of the ceiling; taller bars are clipped and labelled

const esc = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;");

export function renderSvg(r: Results): string {
  const plotH = H - TOP - BOTTOM;
  const groupW = (W - LEFT - RIGHT) / WORKLOADS.length;
  const barW = Math.min(40, (groupW - 20) / Math.max(1, r.stores.length));
  const y = (share: number) => TOP + plotH * (1 - Math.min(share, MAX) / MAX);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="16">Session Service: each workload as % of its composite ceiling</text>`,
    `<text x="${W / 2}" y="42" text-anchor="middle" fill="#555">${esc(`${r.machine.cpus} CPUs, ${r.machine.cpuModel}; ${r.settings.connections} connections; ticks = targets; hatched = figure with errors`)}</text>`,
    `<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#ddd"/><line x1="0" y1="0" x2="0" y2="6" stroke="#999" stroke-width="3"/></pattern></defs>`,
  ];
  for (let p = 0; p <= MAX + 1e-9; p += 0.2) {
    parts.push(
      `<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y(p)}" y2="${y(p)}" stroke="${p === 1 ? "#000" : "#ddd"}"/>`,
      `<text x="${LEFT - 8}" y="${y(p) + 4}" text-anchor="end">${(p * 100).toFixed(0)} %</text>`,
    );
  }
  WORKLOADS.forEach((workload, g) => {
    const x0 = LEFT + g * groupW + (groupW - barW * r.stores.length) / 2;
    let beyond: number | null = null;
    r.stores.forEach((run, s) => {
      const f = run.workloads.find((w) => w.workload === workload.name);
      if (!f) return;
      const x = x0 + s * barW;
      const fill = f.counts ? COLORS[s % COLORS.length] : "url(#hatch)";
      parts.push(
        `<rect x="${x + 2}" y="${y(f.ofCeiling)}" width="${barW - 4}" height="${y(0) - y(f.ofCeiling)}" fill="${fill}"/>`,
        `<text x="${x + barW / 2}" y="${y(f.ofCeiling) - 4}" text-anchor="middle" font-size="10">${(f.ofCeiling * 100).toFixed(0)}</text>`,
      );
      const target = targetOfCeiling(f);
      if (target !== null) {
        parts.push(
          `<line x1="${x}" x2="${x + barW}" y1="${y(target)}" y2="${y(target)}" stroke="#c00" stroke-width="3"/>`,
        );
        if (target > MAX) beyond = target;
      }
    });
    // A target above the axis (me: its share of the floor can lie far above its own ceiling) gets its value, once.
    if (beyond !== null) {
      parts.push(
        `<text x="${LEFT + (g + 0.5) * groupW}" y="${y(MAX) - 16}" text-anchor="middle" font-size="10" fill="#c00">target ↑${((beyond as number) * 100).toFixed(0)} %</text>`,
      );
    }
    parts.push(
      `<text x="${LEFT + (g + 0.5) * groupW}" y="${y(0) + 18}" text-anchor="middle" font-size="13">${workload.name}</text>`,
    );
  });
  // Legend: the stores on one line, the target mark on the next, each entry as wide as its label.
  let x = LEFT;
  r.stores.forEach((run, s) => {
    parts.push(
      `<rect x="${x}" y="${H - 52}" width="14" height="14" fill="${COLORS[s % COLORS.length]}"/>`,
      `<text x="${x + 20}" y="${H - 40}">${esc(run.label)}</text>`,
    );
    x += 40 + 7.5 * run.label.length;
  });
  parts.push(
    `<line x1="${LEFT}" x2="${LEFT + 20}" y1="${H - 19}" y2="${H - 19}" stroke="#c00" stroke-width="3"/>`,
    `<text x="${LEFT + 26}" y="${H - 14}">target (${100 * FLOOR_SHARE} % of HTTP floor, or 70 % of ceiling; ↑ = beyond the scale)</text>`,
  );
  parts.push("</svg>");
  return parts.join("\n");
}

/** Writes the SVG next to the PNG's temporary folder and converts it. */
export async function writeChart(r: Results, pngPath: string, workDir: string): Promise<void> {
  const svgPath = `${workDir}/results.svg`;
  writeFileSync(svgPath, renderSvg(r));
  await $`rsvg-convert --zoom=1.5 --output=${pngPath} ${svgPath}`.quiet();
}
