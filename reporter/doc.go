// Package reporter will turn result JSON into Markdown tables, charts and an HTML report.
// It reads result files only and imports no run-time package of the harness.
package reporter
