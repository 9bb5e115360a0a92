package scenario

import "github.com/servegate/servegate/harness/stream"

// goodput adds to values the share of recs that met every objective of the runner's SLO
// (slo_attainment_pct) and how many such requests the target answered per second over the
// point's window (request_goodput). Without an SLO it adds nothing.
func (r *Runner) goodput(recs []stream.Record, values map[string]float64) {
	if r.SLO == nil || len(recs) == 0 {
		return
	}
	t := r.SLO.CountRecords(recs)
	values["slo_attainment_pct"] = t.AttainmentPct()
	if sec := values["total_time_sec"]; sec > 0 {
		values["request_goodput"] = float64(t.Good) / sec
	}
}
