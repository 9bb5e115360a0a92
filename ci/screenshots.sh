#!/usr/bin/env bash
# Screenshots of the report as a browser shows it, for docs/REPORT.md: the report is made
# from the committed fixture results (reporter/testdata/results: two frameworks, two
# presets each, all simulated) and opened in headless Chromium, the page at 1400 px wide and
# every chart SVG at its own size.
#
#   ci/screenshots.sh [OUT_DIR]     (default docs/images; needs chromium: apt-get install chromium)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/images}
chrome=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}
[ -n "$chrome" ] || { echo "ci/screenshots.sh: no chromium: apt-get install chromium (or set CHROMIUM)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out" "$tmp/results"
# The fixtures minus the one broken on purpose (the report names it; a picture need not).
cp -r reporter/testdata/results/. "$tmp/results/"
rm -f "$tmp/results/sim/broken_results.json"
go run ./cmd/servegate-report -in "$tmp/results" -out "$tmp/report" >/dev/null

n=0
shot() { # URL WIDTH HEIGHT FILE
	n=$((n + 1))
	# A fresh profile each time, nothing fetched or synced: the page must work offline.
	"$chrome" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$tmp/profile-$n" --hide-scrollbars --force-device-scale-factor=1 \
		--window-size="$2,$3" --screenshot="$4" "$1" >/dev/null 2>&1
	[ -s "$4" ] || { echo "ci/screenshots.sh: no screenshot of $1" >&2; exit 1; }
	echo "$4"
}
page=$tmp/report/index.html
shot "file://$page" 1400 1000 "$out/report-top.png"
# One scenario's section (its table and charts) on a page of its own: headless Chromium
# does not scroll to a #fragment before its screenshot.
{
	sed -n '1,/<body>/p' "$page"
	sed -n '/<h2 id="concurrent">/,/<h2 id="long_context">/{/<h2 id="long_context">/!p}' "$page"
	echo '</body></html>'
} >"$tmp/report/concurrent.html"
shot "file://$tmp/report/concurrent.html" 1400 1500 "$out/report-concurrent.png"
for svg in "$tmp"/report/charts/*.svg; do
	name=$(basename "${svg%.svg}")
	shot "file://$svg" 900 500 "$out/chart-${name#simulated_}.png"
done
