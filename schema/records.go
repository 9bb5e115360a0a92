package schema

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// A records file is newline-delimited JSON, gzip-compressed, beside a result file:
// <framework>_<preset>_records.ndjson.gz. Each measured point is one group of lines,
// written as one gzip member (a file of several members reads as one stream):
//
//	{"head": {...}}       the point and how it was measured (Head)
//	{"trial": {...}}      one per trial, before its requests (Trial)
//	{"request": {...}}    one per request (Request)
//
// A point measured again is appended as a new group; the writer drops groups the result
// file no longer holds when it next opens the file.

// Line is one line of a records file; exactly one field is set.
type Line struct {
	Head    *Head    `json:"head,omitempty"`
	Trial   *Trial   `json:"trial,omitempty"`
	Request *Request `json:"request,omitempty"`
}

// Head starts a point's group of records.
type Head struct {
	// Schema is the schema's major version, as in result files.
	Schema int `json:"schema_version"`
	// File is the result file's head (framework, model, provenance, settings), without
	// results or definitions: enough for servegate-merge to write a result file from
	// records alone, and to refuse shards measured under different settings.
	File File `json:"file"`
	// Point describes the point (scenario, shape, trials, measured_at); its metrics are
	// what the records compute to.
	Point Point `json:"point"`
	// SLO is what goodput and attainment were measured against; nil when none was set.
	SLO *SLO `json:"slo,omitempty"`
	// Adaptive says the trials were adaptive (-trials=auto): Point.Trials is the most
	// that would have run, and Point.TrialsStop says why they stopped.
	Adaptive bool `json:"adaptive_trials,omitempty"`
	// Shard says which share of the point's load these records are; nil for a whole point.
	Shard *Shard `json:"shard,omitempty"`
	// Stopped says why measuring stopped before the point's last trial (a crash, an
	// interrupt, the suite's deadline); the records hold what was measured until then.
	Stopped string `json:"stopped,omitempty"`
	// Trials and Requests count the lines of the group after the head, so a group cut
	// short (a run killed while writing) is told from a whole one.
	Trials   int `json:"trials"`
	Requests int `json:"requests"`
}

// Shard says which share of a point's load a process ran.
type Shard struct {
	// Index is this share, 0 to Count-1.
	Index int `json:"index"`
	Count int `json:"count"`
	// Starts are when each trial's measured load started, RFC 3339 with nanoseconds:
	// the same instant in every shard of the trial.
	Starts []string `json:"starts,omitempty"`
}

// Trial is what a trial measured besides its requests.
type Trial struct {
	Trial int `json:"trial"`
	// Values are the trial's figures that are not computed from its requests: the
	// client's own (CPU, scheduler lag), the GPU's and the server's (its /metrics).
	Values map[string]float64 `json:"values,omitempty"`
	// Warnings are the trial's findings, as the point lists them.
	Warnings []string `json:"warnings,omitempty"`
	// Invalid says why the trial measured the client rather than the server.
	Invalid string `json:"invalid,omitempty"`
	// GPUs are each sampled device's figures over the trial.
	GPUs []GPUFigures `json:"gpus,omitempty"`
}

// How a request's chunks were dated (Request.Dated).
const (
	// DatedKernel: every chunk by the kernel's receive timestamp of its bytes.
	DatedKernel = "kernel"
	// DatedRead: every chunk by when the client read it.
	DatedRead = "read"
	// DatedMixed: some of each; Request.ReadDated lists those dated when read.
	DatedMixed = "mixed"
)

// Request is one request as measured: when it was due and sent, every token-bearing chunk
// and what the server said. Times are nanoseconds: instants since the Unix epoch (the
// client's wall clock), durations from Sent.
type Request struct {
	Trial int `json:"trial"`
	// Index is the request's place in the trial's load (shards keep the whole point's
	// numbering, so merged records number as one process would).
	Index int    `json:"index"`
	ID    string `json:"id,omitempty"`
	// ScheduledNs is when the load wanted the request sent (0: unknown); SentNs when its
	// first byte went to the socket.
	ScheduledNs int64 `json:"scheduled_ns,omitempty"`
	SentNs      int64 `json:"sent_ns,omitempty"`
	// FirstByteNs is when the response's first byte arrived (its status line), from
	// Sent; 0 when no response came.
	FirstByteNs int64 `json:"first_byte_ns,omitempty"`
	// EndNs is when the stream finished, from Sent.
	EndNs int64 `json:"end_ns,omitempty"`
	// FirstAnswerNs is when the first event carrying answer content (not reasoning)
	// arrived, from Sent; absent when none did or the stream does not tell them apart.
	FirstAnswerNs *int64 `json:"first_answer_ns,omitempty"`
	// ChunkNs, ChunkTokens and ChunkLagNs are, per chunk, its arrival from Sent, the
	// output tokens it carried and how long after arriving the client read it.
	ChunkNs     []int64 `json:"chunk_ns"`
	ChunkTokens []int   `json:"chunk_tokens"`
	ChunkLagNs  []int64 `json:"chunk_lag_ns,omitempty"`
	// Dated says how the chunks were dated (DatedKernel, DatedRead, DatedMixed);
	// ReadDated lists the chunks dated by read time when mixed.
	Dated     string `json:"dated"`
	ReadDated []int  `json:"read_dated,omitempty"`
	// Status is the HTTP status (0: no response); Class how the request ended where the
	// client classified it; Error why it failed ("" on success).
	Status int    `json:"status"`
	Class  string `json:"class,omitempty"`
	Error  string `json:"error,omitempty"`
	// RetryAfter is the Retry-After header of an error status (a 429's), as sent.
	RetryAfter string `json:"retry_after,omitempty"`
	// UsageDisagrees says the server's completion count was below the tokens the stream
	// carried: the request's output tokens are the stream's count.
	UsageDisagrees bool `json:"usage_disagrees,omitempty"`
	// PromptTokens and CompletionTokens are the server's counts (-1: it gave none);
	// TokenSource how ChunkTokens were counted (server_usage, events).
	PromptTokens     int    `json:"prompt_tokens"`
	CompletionTokens int    `json:"completion_tokens"`
	TokenSource      string `json:"token_source,omitempty"`
	ReasoningTokens  int    `json:"reasoning_tokens,omitempty"`
	// PromptChars and OutputChars are the characters (runes) of the prompt's messages
	// and of what came back.
	PromptChars int `json:"prompt_chars,omitempty"`
	OutputChars int `json:"output_chars,omitempty"`
	// Server holds the durations the server reported about its own work (Ollama).
	Server *ServerTiming `json:"server,omitempty"`
}

// ServerTiming holds the durations a server reports about its own work, in nanoseconds.
type ServerTiming struct {
	TotalNs      int64 `json:"total_ns"`
	LoadNs       int64 `json:"load_ns"`
	PromptEvalNs int64 `json:"prompt_eval_ns"`
	EvalNs       int64 `json:"eval_ns"`
}

// Group is one point's records: its head, its trials and their requests in order.
type Group struct {
	Head     Head
	Trials   []Trial
	Requests []Request
}

// Encode writes g as lines (head, then each trial followed by its requests), filling in
// the head's counts and schema version.
func (g *Group) Encode(w io.Writer) error {
	g.Head.Schema = Version
	g.Head.Trials, g.Head.Requests = len(g.Trials), len(g.Requests)
	g.Head.File.Results, g.Head.File.Definitions = nil, nil
	enc := json.NewEncoder(w)
	if err := enc.Encode(Line{Head: &g.Head}); err != nil {
		return fmt.Errorf("encode records of %s: %w", g.Head.Point.Key(), err)
	}
	next := 0
	for i := range g.Trials {
		if err := enc.Encode(Line{Trial: &g.Trials[i]}); err != nil {
			return fmt.Errorf("encode records of %s: %w", g.Head.Point.Key(), err)
		}
		for ; next < len(g.Requests) && g.Requests[next].Trial <= g.Trials[i].Trial; next++ {
			if err := enc.Encode(Line{Request: &g.Requests[next]}); err != nil {
				return fmt.Errorf("encode records of %s: %w", g.Head.Point.Key(), err)
			}
		}
	}
	for ; next < len(g.Requests); next++ {
		if err := enc.Encode(Line{Request: &g.Requests[next]}); err != nil {
			return fmt.Errorf("encode records of %s: %w", g.Head.Point.Key(), err)
		}
	}
	return nil
}

// ErrTruncated marks records that end in the middle of a group: the writer was stopped
// while appending it. The groups before it are whole.
var ErrTruncated = errors.New("records end in the middle of a point (the run was stopped while writing it)")

// ReadGroups reads a records stream (gzip-compressed NDJSON) and returns its groups in
// order. A group of a newer schema is refused with a *VersionError. When the stream ends
// inside a group, the whole groups before it are returned with an error wrapping
// ErrTruncated.
func ReadGroups(r io.Reader) ([]Group, error) {
	zr, err := gzip.NewReader(r)
	if errors.Is(err, io.EOF) {
		return nil, nil // an empty file: no point written yet
	}
	if err != nil {
		return nil, fmt.Errorf("records are not gzip: %w", err)
	}
	defer zr.Close()
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<30)
	var out []Group
	var cur *Group
	complete := func() bool {
		return cur == nil || len(cur.Trials) == cur.Head.Trials && len(cur.Requests) == cur.Head.Requests
	}
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var l Line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			if cur != nil && !complete() {
				break // a group cut short in the middle of a line
			}
			return out, fmt.Errorf("records line %d: %w", line, err)
		}
		switch {
		case l.Head != nil:
			if !complete() {
				return out, fmt.Errorf("records line %d: %s has %d of %d trials and %d of %d requests before the next point: %w",
					line, cur.Head.Point.Key(), len(cur.Trials), cur.Head.Trials, len(cur.Requests), cur.Head.Requests, ErrTruncated)
			}
			if l.Head.Schema > Version {
				return out, &VersionError{Path: "records", Found: l.Head.Schema}
			}
			if cur != nil {
				out = append(out, *cur)
			}
			cur = &Group{Head: *l.Head}
		case cur == nil:
			return out, fmt.Errorf("records line %d: a trial or request before any point head", line)
		case l.Trial != nil:
			cur.Trials = append(cur.Trials, *l.Trial)
		case l.Request != nil:
			cur.Requests = append(cur.Requests, *l.Request)
		default:
			return out, fmt.Errorf("records line %d: neither head, trial nor request", line)
		}
	}
	err = sc.Err()
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return out, fmt.Errorf("read records: %w", err)
	}
	if cur != nil && !complete() {
		return out, fmt.Errorf("%s has %d of %d trials and %d of %d requests: %w",
			cur.Head.Point.Key(), len(cur.Trials), cur.Head.Trials, len(cur.Requests), cur.Head.Requests, ErrTruncated)
	}
	if cur != nil {
		out = append(out, *cur)
	}
	if err != nil {
		// Every group is whole; what follows the last is a member cut before its first line.
		return out, fmt.Errorf("after %d whole points: %w", len(out), ErrTruncated)
	}
	return out, nil
}

// ReadRecords reads the records file at path (see ReadGroups); errors name the file.
func ReadRecords(path string) ([]Group, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read records: %w", err)
	}
	defer f.Close()
	gs, err := ReadGroups(f)
	if err != nil {
		var ve *VersionError
		if errors.As(err, &ve) {
			ve.Path = path
			return gs, ve
		}
		return gs, fmt.Errorf("%s: %w", path, err)
	}
	return gs, nil
}

// WriteGroup appends g to w as one gzip member.
func WriteGroup(w io.Writer, g *Group) error {
	zw := gzip.NewWriter(w)
	bw := bufio.NewWriterSize(zw, 64<<10)
	if err := g.Encode(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return zw.Close()
}
