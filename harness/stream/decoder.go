package stream

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// Errors a Decoder wraps, so callers can tell a broken stream from a server that said no.
var (
	// ErrMalformed marks bytes that are not the dialect's format.
	ErrMalformed = errors.New("malformed stream")
	// ErrServer marks an error the server reported inside the stream or as an HTTP status.
	ErrServer = errors.New("server error")
	// ErrIncomplete marks a stream that ended before its terminal event.
	ErrIncomplete = errors.New("stream ended early")
)

// Decoder parses one response body, as it arrives, into a Record.
type Decoder interface {
	// Feed passes bytes that arrived at time at.
	Feed(p []byte, at time.Time) error
	// Finish is called when the body ends; it reports a stream cut short.
	Finish(at time.Time) error
	// Done reports whether the terminal event ([DONE] or done:true) has been seen.
	Done() bool
}

// NewDecoder returns a Decoder for dialect d that fills rec. rec.Sent must be set: chunk
// offsets are measured from it.
func NewDecoder(d Dialect, rec *Record) (Decoder, error) {
	switch d {
	case OpenAI, OpenAICompletions:
		return &sseDecoder{rec: rec}, nil
	case Ollama:
		return &ndjsonDecoder{rec: rec}, nil
	default:
		return nil, fmt.Errorf("unknown dialect %q: use %q, %q or %q", d, OpenAI, OpenAICompletions, Ollama)
	}
}

// excerpt shortens b for an error message.
func excerpt(b []byte) string {
	const max = 120
	if len(b) <= max {
		return ServerText(b)
	}
	return ServerText(b[:max]) + "…"
}

// addTokens appends a token-bearing chunk; answer says it carried answer content.
func addTokens(rec *Record, at time.Time, tokens int, text []byte, reasoning, answer bool) {
	off := at.Sub(rec.Sent)
	if answer && !rec.Answered {
		rec.Answered, rec.FirstAnswer = true, off
	}
	rec.Chunks = append(rec.Chunks, Chunk{Offset: off, Tokens: tokens})
	rec.OutputChars += utf8.RuneCount(text)
	if reasoning {
		rec.ReasoningTokens += tokens
	}
}

// serverMessage extracts a readable message from an error value: a string, or an object
// with "message" (OpenAI, vLLM, SGLang).
func serverMessage(v *fastjson.Value) string {
	switch v.Type() {
	case fastjson.TypeString:
		return ServerText(v.GetStringBytes())
	case fastjson.TypeObject:
		if m := v.GetStringBytes("message"); m != nil {
			return ServerText(m)
		}
	}
	return ServerText([]byte(v.String()))
}

// sseDecoder parses server-sent events carrying OpenAI chat-completion chunks.
type sseDecoder struct {
	rec     *Record
	lines   lineSplitter
	parser  fastjson.Parser
	data    []byte
	hasData bool
	event   []byte
	done    bool
	at      time.Time
	lastOut int    // running completion-token count from usage, for per-chunk deltas
	text    []byte // the slow path's text buffer
	scan    chunkScanner
	events  int    // data events dispatched
	stray   []byte // the first line that is no SSE field, kept for the error message
}

func (d *sseDecoder) Done() bool { return d.done }

func (d *sseDecoder) Feed(p []byte, at time.Time) error {
	d.at = at
	return d.lines.feed(p, d.line)
}

func (d *sseDecoder) Finish(at time.Time) error {
	d.at = at
	if rest := d.lines.rest(); len(rest) > 0 {
		if err := d.line(rest); err != nil {
			return err
		}
	}
	if d.hasData {
		if err := d.dispatch(); err != nil {
			return err
		}
	}
	d.rec.End = at.Sub(d.rec.Sent)
	if !d.done && d.events == 0 && d.stray != nil {
		return fmt.Errorf("%w: body is not server-sent events: %q", ErrMalformed, d.stray)
	}
	if !d.done {
		return fmt.Errorf("%w: no [DONE] after %d token chunks", ErrIncomplete, len(d.rec.Chunks))
	}
	return nil
}

// line handles one SSE line (https://html.spec.whatwg.org/multipage/server-sent-events.html).
func (d *sseDecoder) line(l []byte) error {
	if len(l) == 0 {
		if !d.hasData {
			d.event = d.event[:0]
			return nil
		}
		return d.dispatch()
	}
	if l[0] == ':' { // comment or keep-alive
		return nil
	}
	field, value := l, []byte(nil)
	for i, c := range l {
		if c == ':' {
			field, value = l[:i], l[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
			break
		}
	}
	switch string(field) {
	case "data":
		if d.hasData {
			d.data = append(d.data, '\n')
		}
		d.data = append(d.data, value...)
		d.hasData = true
	case "event":
		d.event = append(d.event[:0], value...)
	case "id", "retry":
	default:
		if d.stray == nil {
			d.stray = []byte(excerpt(l))
		}
	}
	return nil
}

func (d *sseDecoder) dispatch() error {
	data, event := d.data, d.event
	d.data, d.hasData = d.data[:0], false
	d.events++
	defer func() { d.event = d.event[:0] }()
	if d.done {
		return nil // servers may send usage or nothing after [DONE]; it changes no measurement
	}
	if string(data) == "[DONE]" {
		d.done = true
		d.rec.End = d.at.Sub(d.rec.Sent)
		return nil
	}
	if string(event) == "error" {
		return fmt.Errorf("%w: error event: %s", ErrServer, excerpt(data))
	}
	f, ok := d.scan.scan(data)
	if !ok {
		var err error
		if f, err = d.parse(data); err != nil {
			return err
		}
	}
	usageOut := -1
	if f.hasPrompt {
		d.rec.PromptTokens = f.promptTokens
	}
	if f.hasCompletion {
		usageOut = f.completionTokens
		d.rec.CompletionTokens = usageOut
	}
	text, reasoning := f.text, f.reasoning
	if len(text) == 0 {
		return nil // role-only, finish-only or usage-only chunk: no token arrived
	}
	tokens := 1
	if usageOut > d.lastOut {
		tokens = usageOut - d.lastOut
		d.lastOut = usageOut
		d.rec.TokenSource = FromUsage
	} else if d.rec.TokenSource == "" {
		d.rec.TokenSource = FromEvents
	}
	addTokens(d.rec, d.at, tokens, text, reasoning, f.answer)
	return nil
}

// parse reads a chunk with fastjson: the path for whatever chunkScanner leaves, errors
// included, and the reference it is fuzzed against.
func (d *sseDecoder) parse(data []byte) (chunkFields, error) {
	f := chunkFields{text: d.text[:0]}
	v, err := d.parser.ParseBytes(data)
	if err != nil {
		return f, fmt.Errorf("%w: SSE data is not JSON (%v): %q", ErrMalformed, err, excerpt(data))
	}
	if v.Type() != fastjson.TypeObject {
		return f, fmt.Errorf("%w: SSE data is not a JSON object: %q", ErrMalformed, excerpt(data))
	}
	if e := v.Get("error"); e != nil && e.Type() != fastjson.TypeNull {
		return f, fmt.Errorf("%w: %s", ErrServer, serverMessage(e))
	}
	if string(v.GetStringBytes("object")) == "error" {
		return f, fmt.Errorf("%w: %s", ErrServer, serverMessage(v))
	}
	if u := v.Get("usage"); u != nil && u.Type() == fastjson.TypeObject {
		if p := u.Get("prompt_tokens"); p != nil {
			f.promptTokens, f.hasPrompt = p.GetInt(), true
		}
		if c := u.Get("completion_tokens"); c != nil {
			f.completionTokens, f.hasCompletion = c.GetInt(), true
		}
	}
	for _, ch := range v.GetArray("choices") {
		delta := ch.Get("delta")
		if delta == nil {
			// Legacy completions stream the text on the choice itself.
			f.text = append(f.text, ch.GetStringBytes("text")...)
			continue
		}
		if r := delta.GetStringBytes("reasoning_content"); len(r) > 0 {
			f.text, f.reasoning = append(f.text, r...), true
		} else if r := delta.GetStringBytes("reasoning"); len(r) > 0 {
			f.text, f.reasoning = append(f.text, r...), true
		}
		if c := delta.GetStringBytes("content"); len(c) > 0 {
			f.text, f.answer = append(f.text, c...), true
		}
	}
	d.text = f.text
	return f, nil
}

// ndjsonDecoder parses Ollama's newline-delimited JSON chat stream.
type ndjsonDecoder struct {
	rec    *Record
	lines  lineSplitter
	parser fastjson.Parser
	done   bool
	at     time.Time
	text   []byte
}

func (d *ndjsonDecoder) Done() bool { return d.done }

func (d *ndjsonDecoder) Feed(p []byte, at time.Time) error {
	d.at = at
	return d.lines.feed(p, d.line)
}

func (d *ndjsonDecoder) Finish(at time.Time) error {
	d.at = at
	if rest := d.lines.rest(); len(rest) > 0 {
		if err := d.line(rest); err != nil {
			return err
		}
	}
	if !d.done {
		d.rec.End = at.Sub(d.rec.Sent)
		return fmt.Errorf("%w: no message with \"done\": true after %d token chunks", ErrIncomplete, len(d.rec.Chunks))
	}
	return nil
}

func (d *ndjsonDecoder) line(l []byte) error {
	if len(l) == 0 || d.done {
		return nil
	}
	v, err := d.parser.ParseBytes(l)
	if err != nil {
		return fmt.Errorf("%w: NDJSON line is not JSON (%v): %q", ErrMalformed, err, excerpt(l))
	}
	if v.Type() != fastjson.TypeObject {
		return fmt.Errorf("%w: NDJSON line is not a JSON object: %q", ErrMalformed, excerpt(l))
	}
	if e := v.Get("error"); e != nil && e.Type() != fastjson.TypeNull {
		return fmt.Errorf("%w: %s", ErrServer, serverMessage(e))
	}
	text := d.text[:0]
	reasoning := false
	answer := v.GetStringBytes("response") // /api/generate
	thinking := v.GetStringBytes("thinking")
	if m := v.Get("message"); m != nil {
		answer, thinking = m.GetStringBytes("content"), m.GetStringBytes("thinking")
	}
	if len(thinking) > 0 {
		text, reasoning = append(text, thinking...), true
	}
	text = append(text, answer...)
	d.text = text
	if len(text) > 0 {
		d.rec.TokenSource = FromEvents
		addTokens(d.rec, d.at, 1, text, reasoning, len(answer) > 0)
	}
	if v.GetBool("done") {
		d.done = true
		d.rec.End = d.at.Sub(d.rec.Sent)
		if p := v.Get("prompt_eval_count"); p != nil {
			d.rec.PromptTokens = p.GetInt()
		}
		if c := v.Get("eval_count"); c != nil {
			d.rec.CompletionTokens = c.GetInt()
		}
		d.rec.Server = &ServerTiming{
			Total:      time.Duration(v.GetInt64("total_duration")),
			Load:       time.Duration(v.GetInt64("load_duration")),
			PromptEval: time.Duration(v.GetInt64("prompt_eval_duration")),
			Eval:       time.Duration(v.GetInt64("eval_duration")),
		}
	}
	return nil
}
