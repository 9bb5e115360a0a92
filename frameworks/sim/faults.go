package sim

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Faults make the simulator misbehave the ways real servers do, so a harness can be
// tested against each misbehaviour and soaked against all of them. A rate is the chance
// that a chat request gets that fault; at most one fault hits a request. Mid-stream faults
// (cut, stall, error event) strike halfway through the output. The zero value injects
// nothing.
type Faults struct {
	// ErrorRate answers HTTP 500 before streaming.
	ErrorRate float64 `json:"error_rate,omitempty"`
	// RateLimitRate answers HTTP 429 with a Retry-After of RetryAfter (default 1 s).
	RateLimitRate float64       `json:"rate_limit_rate,omitempty"`
	RetryAfter    time.Duration `json:"retry_after_ns,omitempty"`
	// CutRate drops the connection in the middle of an event.
	CutRate float64 `json:"cut_rate,omitempty"`
	// StallRate stops sending and holds the connection open until the client leaves.
	StallRate float64 `json:"stall_rate,omitempty"`
	// ErrorEventRate sends an in-band error and ends the stream.
	ErrorEventRate float64 `json:"error_event_rate,omitempty"`
	// TokenlessRate ends the stream properly before any token.
	TokenlessRate float64 `json:"tokenless_rate,omitempty"`
	// ShortRate stops at a quarter of max_tokens with finish_reason "stop", even when the
	// request asked for ignore_eos.
	ShortRate float64 `json:"short_rate,omitempty"`
	// SlowStart answers every path, health included, with 503 for this long after start,
	// as a server loading its model does.
	SlowStart time.Duration `json:"slow_start_ns,omitempty"`
	// CrashAfter, when above 0, crashes the server when chat request CrashAfter+1 arrives:
	// streams in flight are cut and later connections refused (see Config.Crash).
	CrashAfter int `json:"crash_after,omitempty"`
}

// Fault names one injected misbehaviour, as RequestTruth.Fault (its string) and /metrics report it.
type Fault string

// The faults, in the order a request's draw tries them.
const (
	NoFault         Fault = ""
	FaultError      Fault = "error"
	FaultRateLimit  Fault = "rate_limit"
	FaultCut        Fault = "cut"
	FaultStall      Fault = "stall"
	FaultErrorEvent Fault = "error_event"
	FaultTokenless  Fault = "tokenless"
	FaultShort      Fault = "short"
)

// AllFaults lists the per-request faults.
var AllFaults = []Fault{FaultError, FaultRateLimit, FaultCut, FaultStall, FaultErrorEvent, FaultTokenless, FaultShort}

func (f Faults) rate(k Fault) float64 {
	switch k {
	case FaultError:
		return f.ErrorRate
	case FaultRateLimit:
		return f.RateLimitRate
	case FaultCut:
		return f.CutRate
	case FaultStall:
		return f.StallRate
	case FaultErrorEvent:
		return f.ErrorEventRate
	case FaultTokenless:
		return f.TokenlessRate
	case FaultShort:
		return f.ShortRate
	}
	return 0
}

// Any reports whether any fault is set.
func (f Faults) Any() bool { return f != Faults{} }

func (f Faults) validate() error {
	sum := 0.0
	for _, k := range AllFaults {
		r := f.rate(k)
		if r < 0 || r > 1 {
			return fmt.Errorf("sim faults: %s rate %v is not in [0, 1]", k, r)
		}
		sum += r
	}
	if sum > 1+1e-9 {
		return fmt.Errorf("sim faults: the rates add up to %v; at most one fault hits a request, so they must add up to at most 1", sum)
	}
	if f.SlowStart < 0 || f.RetryAfter < 0 || f.CrashAfter < 0 {
		return fmt.Errorf("sim faults: slow_start, retry_after and crash_after must not be negative")
	}
	return nil
}

// draw picks the fault for a request from u, uniform in [0, 1).
func (f Faults) draw(u float64) Fault {
	for _, k := range AllFaults {
		r := f.rate(k)
		if u < r {
			return k
		}
		u -= r
	}
	return NoFault
}

// faultFor draws the fault of request number seq (counted from 1) with the profile's seed.
func (s *Server) faultFor(seq int64, id string) Fault {
	f := s.cfg.Profile.Faults
	if !f.Any() {
		return NoFault
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	return f.draw(rand.New(rand.NewPCG(s.cfg.Profile.Seed^0xfa017, h.Sum64()^uint64(seq))).Float64())
}

// faultCounts counts injected faults by kind, for /metrics.
type faultCounts [8]atomic.Int64

func (c *faultCounts) add(k Fault) {
	for i, f := range AllFaults {
		if f == k {
			c[i].Add(1)
		}
	}
}

// ParseFaults reads faults written as comma-separated name=value pairs: a rate for each
// fault by its name (error, rate_limit, cut, stall, error_event, tokenless, short), and
// retry_after, slow_start (durations) and crash_after (a request count). Example:
// "stall=0.01,cut=0.01,crash_after=500".
func ParseFaults(spec string) (Faults, error) {
	var f Faults
	if strings.TrimSpace(spec) == "" {
		return f, nil
	}
	rates := map[string]*float64{string(FaultError): &f.ErrorRate, string(FaultRateLimit): &f.RateLimitRate,
		string(FaultCut): &f.CutRate, string(FaultStall): &f.StallRate, string(FaultErrorEvent): &f.ErrorEventRate,
		string(FaultTokenless): &f.TokenlessRate, string(FaultShort): &f.ShortRate}
	durations := map[string]*time.Duration{"retry_after": &f.RetryAfter, "slow_start": &f.SlowStart}
	for _, part := range strings.Split(spec, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		var err error
		switch {
		case !ok:
			err = fmt.Errorf("write name=value")
		case rates[name] != nil:
			*rates[name], err = strconv.ParseFloat(value, 64)
		case durations[name] != nil:
			*durations[name], err = time.ParseDuration(value)
		case name == "crash_after":
			f.CrashAfter, err = strconv.Atoi(value)
		default:
			err = fmt.Errorf("unknown fault %q (known: error, rate_limit, cut, stall, error_event, tokenless, short, retry_after, slow_start, crash_after)", name)
		}
		if err != nil {
			return Faults{}, fmt.Errorf("sim faults %q: %q: %w", spec, part, err)
		}
	}
	return f, f.validate()
}

// InjectedFaults returns how many requests got each fault so far.
func (s *Server) InjectedFaults() map[Fault]int {
	out := map[Fault]int{}
	for i, f := range AllFaults {
		if n := s.faults[i].Load(); n > 0 {
			out[f] = int(n)
		}
	}
	return out
}

// rejectFault answers a request that drew an HTTP-status fault; false for other faults.
func (s *Server) rejectFault(w http.ResponseWriter, d dialect, k Fault) bool {
	switch k {
	case FaultError:
		fail(w, d, http.StatusInternalServerError, "injected fault: internal server error")
	case FaultRateLimit:
		after := s.cfg.Profile.Faults.RetryAfter
		if after <= 0 {
			after = time.Second
		}
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int((after+time.Second-1)/time.Second))))
		fail(w, d, http.StatusTooManyRequests, "injected fault: too many requests")
	default:
		return false
	}
	return true
}

// errorEvent is an in-band error ending a stream: vLLM sends an error object as a data
// event, then [DONE] (vllm/entrypoints/openai/serving_engine.py,
// create_streaming_error_response); Ollama an {"error": ...} line (server/routes.go,
// ChatHandler's stream).
func errorEvent(d dialect, msg string) []byte {
	var b []byte
	if d == ollama {
		b = append(b, `{"error":`...)
		b = appendJSONString(b, msg)
		return append(b, "}\n"...)
	}
	b = append(b, `data: {"error":{"object":"error","message":`...)
	b = appendJSONString(b, msg)
	b = append(b, `,"type":"InternalServerError","param":null,"code":500}}`+"\n\n"...)
	return append(b, "data: [DONE]\n\n"...)
}

// slowStart wraps h so that every path answers 503 until the start-up delay has passed.
func slowStart(h http.Handler, until time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if time.Now().Before(until) {
			d := openAI
			if strings.HasPrefix(r.URL.Path, "/api/") {
				d = ollama
			}
			fail(w, d, http.StatusServiceUnavailable, "injected fault: the model is still loading")
			return
		}
		h.ServeHTTP(w, r)
	})
}
