package schema

// Objective is one latency objective: Percentile percent of requests take at most MaxMs.
type Objective struct {
	Percentile float64 `json:"percentile"`
	MaxMs      float64 `json:"max_ms"`
}

// SLO is a set of service-level objectives (harness/slo judges requests against them). A
// nil objective is not checked. A request meets an objective when it succeeded and its
// value is at most MaxMs; a failed request meets none.
type SLO struct {
	// TTFT is time to first token, from send.
	TTFT *Objective `json:"ttft"`
	// ITL is the request's mean inter-token latency: (E2E - TTFT) / (output tokens - 1).
	ITL *Objective `json:"itl"`
	// E2E is end-to-end latency, from send to the last token.
	E2E *Objective `json:"e2e"`
	// MaxErrorPct is the most requests that may fail, in percent of those sent.
	MaxErrorPct float64 `json:"max_error_pct"`
}

// Capacity modes.
const (
	// UsersMode searches a closed loop's concurrency: concurrent users.
	UsersMode = "users"
	// RateMode searches an open loop's arrival rate: requests per second.
	RateMode = "rate"
)

// Capacity is the answer of a capacity search (the capacity scenario's points): the most
// load the target served within an SLO, the interval the search narrowed it to, what
// bound it, and every probe behind it.
type Capacity struct {
	// Mode is UsersMode or RateMode; Arrivals, in RateMode, is poisson or constant.
	Mode     string `json:"mode"`
	Arrivals string `json:"arrivals,omitempty"`
	// Value is the highest level shown to meet the SLO; 0 when none was.
	Value float64 `json:"value"`
	// Low is Value; High is the highest level not shown to miss the SLO: one user below
	// the lowest level shown to miss it (UsersMode), or that rate itself (RateMode), or the
	// highest level measured when none was shown to miss.
	Low  float64 `json:"low"`
	High float64 `json:"high"`
	// Ceiling is the highest level the search would try; AtCeiling says it met the SLO
	// there, so the capacity is at least Value.
	Ceiling   float64 `json:"ceiling"`
	AtCeiling bool    `json:"at_ceiling,omitempty"`
	// Binding is what failed first at the lowest level shown to miss the SLO: an
	// objective (ttft, itl, e2e), "errors", or "saturated" (the backlog grew).
	Binding string `json:"binding,omitempty"`
	// Knee is the last level up to which throughput still grew at least half as fast as
	// the load (UsersMode).
	Knee float64 `json:"knee,omitempty"`
	// SaturatedAt is the lowest level at which the target could not keep up: the backlog
	// grew through the probe (RateMode), or the server queued requests throughout it
	// (UsersMode).
	SaturatedAt float64 `json:"saturated_at,omitempty"`
	SLO         SLO     `json:"slo"`
	// Sentence says the answer plainly.
	Sentence string  `json:"sentence"`
	Probes   []Probe `json:"probes"`
}

// Probe verdicts.
const (
	ProbePass      = "pass"
	ProbeFail      = "fail"
	ProbeUndecided = "undecided"
	ProbeSaturated = "saturated"
)

// Probe is one level of a capacity search, measured once or more (a level whose interval
// straddled an objective is measured again, its requests pooled).
type Probe struct {
	Level float64 `json:"level"`
	// Verdict is ProbePass, ProbeFail, ProbeUndecided (still straddling, or the client
	// could not drive it, after the last measurement) or ProbeSaturated.
	Verdict string `json:"verdict"`
	// Stop says why each measurement ended and how the level was decided.
	Stop         string `json:"stop"`
	Measurements int    `json:"measurements"`
	Requests     int    `json:"requests"`
	Failed       int    `json:"failed"`
	// ErrorClasses counts the failed requests by class (stream.Class), as a point's
	// error_classes does.
	ErrorClasses map[string]int `json:"error_classes,omitempty"`
	// AttainmentPct is the share of requests that met every objective, in percent;
	// Objectives judges each objective on its own.
	AttainmentPct float64 `json:"slo_attainment_pct"`
	Objectives    []Share `json:"objectives,omitempty"`
	Binding       string  `json:"binding,omitempty"`
	// What the last measurement saw: throughput, output tokens per second while a user's
	// answer streams (1000 / mean TPOT), the 95th percentiles the objectives speak of, and
	// the server's queue.
	OutputTokenThroughput float64  `json:"output_token_throughput"`
	RequestThroughput     float64  `json:"request_throughput"`
	OutputTokensPerUser   float64  `json:"output_tokens_per_user"`
	P95TTFTMs             float64  `json:"p95_ttft_ms"`
	P95ITLMs              float64  `json:"p95_itl_ms"`
	ServerWaitingMean     *float64 `json:"server_waiting_mean,omitempty"`
	Saturated             bool     `json:"saturated,omitempty"`
}

// Share is one objective judged: the share of requests that met it, with its 95% Wilson
// interval, against the share the objective asks for.
type Share struct {
	Objective string  `json:"objective"`
	Met       int     `json:"met"`
	Requests  int     `json:"requests"`
	Low       float64 `json:"low"`
	High      float64 `json:"high"`
	Want      float64 `json:"want"`
	Verdict   string  `json:"verdict"`
}
