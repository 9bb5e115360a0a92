package stream

import (
	"unicode/utf8"
)

// chunkFields is what the SSE decoder takes from one chat-completion chunk.
type chunkFields struct {
	// promptTokens and completionTokens are usage.prompt_tokens and
	// usage.completion_tokens where hasPrompt and hasCompletion say the chunk has them.
	promptTokens, completionTokens int
	hasPrompt, hasCompletion       bool
	// text is the unescaped reasoning and content of every choice, in order.
	text []byte
	// reasoning is set when any of text came as reasoning_content or reasoning; answer
	// when any came as a delta's content (a legacy completion's text is neither: it does
	// not say which it is).
	reasoning, answer bool
}

// chunkScanner reads a chat-completion chunk in one validating pass, without building a
// tree of every value as fastjson does (which was half of the client's CPU per streamed
// token, and jsonparser's path extraction measured slower still). It is a fast path
// only: it answers for strictly valid JSON objects whose fields it can read unambiguously
// and gives up (ok false) on anything else, an escaped key, a surrogate escape, a number
// that is not a plain integer where it needs one, an error field, so the fastjson path
// decides those. FuzzChunkScanner checks that whatever it answers, fastjson agrees.
type chunkScanner struct {
	b   []byte
	pos int
	f   chunkFields
}

// maxScanDepth is the deepest nesting the scanner follows before leaving a chunk to fastjson.
const maxScanDepth = 64

// span is a string's raw bytes between its quotes; esc says it holds a backslash.
type span struct {
	raw []byte
	esc bool
	set bool
}

// scan reads data; ok is false when the slow path must decide.
func (s *chunkScanner) scan(data []byte) (chunkFields, bool) {
	s.b, s.pos = data, 0
	s.f = chunkFields{text: s.f.text[:0]}
	s.ws()
	if !s.top() {
		return chunkFields{}, false
	}
	s.ws()
	if s.pos != len(s.b) {
		return chunkFields{}, false
	}
	return s.f, true
}

func (s *chunkScanner) ws() {
	for s.pos < len(s.b) && s.b[s.pos] <= ' ' {
		switch s.b[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// eat consumes c after optional whitespace.
func (s *chunkScanner) eat(c byte) bool {
	s.ws()
	if s.pos < len(s.b) && s.b[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

// fields walks the members of an object whose '{' is next, calling member for each key
// with the scanner positioned at its value; member must consume the value.
func (s *chunkScanner) fields(member func(key []byte) bool) bool {
	if !s.eat('{') {
		return false
	}
	if s.eat('}') {
		return true
	}
	for {
		s.ws()
		k, ok := s.str()
		if !ok || k.esc || !s.eat(':') {
			return false
		}
		s.ws()
		if !member(k.raw) {
			return false
		}
		if s.eat(',') {
			continue
		}
		return s.eat('}')
	}
}

// top reads the chunk object.
func (s *chunkScanner) top() bool {
	var seenError, seenObject, seenUsage, seenChoices bool
	return s.fields(func(key []byte) bool {
		switch {
		case string(key) == "error" && !seenError:
			seenError = true
			// A null error is no error; anything else is the slow path's to report.
			return s.literal("null")
		case string(key) == "object" && !seenObject:
			seenObject = true
			if s.at('"') {
				v, ok := s.str()
				return ok && !v.esc && string(v.raw) != "error"
			}
		case string(key) == "usage" && !seenUsage:
			seenUsage = true
			if s.at('{') {
				return s.usage()
			}
		case string(key) == "choices" && !seenChoices:
			seenChoices = true
			if s.at('[') {
				return s.choices()
			}
		}
		return s.value(1)
	})
}

func (s *chunkScanner) usage() bool {
	var seenPrompt, seenCompletion bool
	return s.fields(func(key []byte) bool {
		switch {
		case string(key) == "prompt_tokens" && !seenPrompt:
			seenPrompt = true
			n, ok := s.int()
			s.f.promptTokens, s.f.hasPrompt = n, true
			return ok
		case string(key) == "completion_tokens" && !seenCompletion:
			seenCompletion = true
			n, ok := s.int()
			s.f.completionTokens, s.f.hasCompletion = n, true
			return ok
		}
		return s.value(2)
	})
}

func (s *chunkScanner) choices() bool {
	return s.items(func() bool {
		if s.at('{') {
			return s.choice()
		}
		return s.value(2)
	})
}

// items walks the elements of an array whose '[' is next, calling elem with the scanner
// positioned at each; elem must consume it.
func (s *chunkScanner) items(elem func() bool) bool {
	if !s.eat('[') {
		return false
	}
	if s.eat(']') {
		return true
	}
	for {
		s.ws()
		if !elem() {
			return false
		}
		if s.eat(',') {
			continue
		}
		return s.eat(']')
	}
}

// choice reads one element of choices: the delta's reasoning and content, or a legacy
// completion's text when it has no delta at all.
func (s *chunkScanner) choice() bool {
	var seenDelta, seenText bool
	var text, reasoningContent, reasoning, content span
	ok := s.fields(func(key []byte) bool {
		switch {
		case string(key) == "delta" && !seenDelta:
			seenDelta = true
			if s.at('{') {
				return s.delta(&reasoningContent, &reasoning, &content)
			}
		case string(key) == "text" && !seenText:
			seenText = true
			return s.strValue(&text)
		}
		return s.value(3)
	})
	if !ok {
		return false
	}
	if !seenDelta {
		return s.appendText(text)
	}
	n := len(s.f.text)
	if !s.appendText(reasoningContent) {
		return false
	}
	if len(s.f.text) == n && !s.appendText(reasoning) {
		return false
	}
	if len(s.f.text) > n {
		s.f.reasoning = true
	}
	if len(content.raw) > 0 {
		s.f.answer = true
	}
	return s.appendText(content)
}

func (s *chunkScanner) delta(reasoningContent, reasoning, content *span) bool {
	return s.fields(func(key []byte) bool {
		switch string(key) {
		case "reasoning_content":
			if !reasoningContent.set {
				return s.strValue(reasoningContent)
			}
		case "reasoning":
			if !reasoning.set {
				return s.strValue(reasoning)
			}
		case "content":
			if !content.set {
				return s.strValue(content)
			}
		}
		return s.value(4)
	})
}

// strValue reads any value into sp: a string's span, or nothing for another type (a
// non-string field reads as absent, as fastjson's GetStringBytes has it).
func (s *chunkScanner) strValue(sp *span) bool {
	sp.set = true
	if !s.at('"') {
		return s.value(4)
	}
	v, ok := s.str()
	sp.raw, sp.esc = v.raw, v.esc
	return ok
}

func (s *chunkScanner) at(c byte) bool { return s.pos < len(s.b) && s.b[s.pos] == c }

// value skips any valid JSON value.
func (s *chunkScanner) value(depth int) bool {
	if depth > maxScanDepth || s.pos >= len(s.b) {
		return false
	}
	switch c := s.b[s.pos]; {
	case c == '"':
		_, ok := s.str()
		return ok
	case c == '{':
		return s.fields(func([]byte) bool { return s.value(depth + 1) })
	case c == '[':
		return s.items(func() bool { return s.value(depth + 1) })
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	default:
		_, _, ok := s.number()
		return ok
	}
}

func (s *chunkScanner) literal(lit string) bool {
	if len(s.b)-s.pos >= len(lit) && string(s.b[s.pos:s.pos+len(lit)]) == lit {
		s.pos += len(lit)
		return true
	}
	return false
}

// number reads a JSON number; plain says it is an integer without fraction or exponent.
func (s *chunkScanner) number() (raw []byte, plain, ok bool) {
	start := s.pos
	if s.at('-') {
		s.pos++
	}
	switch {
	case s.at('0'):
		s.pos++
	case s.pos < len(s.b) && s.b[s.pos] >= '1' && s.b[s.pos] <= '9':
		s.digits()
	default:
		return nil, false, false
	}
	plain = true
	if s.at('.') {
		s.pos++
		if !s.digits() {
			return nil, false, false
		}
		plain = false
	}
	if s.at('e') || s.at('E') {
		s.pos++
		if s.at('+') || s.at('-') {
			s.pos++
		}
		if !s.digits() {
			return nil, false, false
		}
		plain = false
	}
	return s.b[start:s.pos], plain, true
}

func (s *chunkScanner) digits() bool {
	start := s.pos
	for s.pos < len(s.b) && s.b[s.pos] >= '0' && s.b[s.pos] <= '9' {
		s.pos++
	}
	return s.pos > start
}

// int reads a token count: a plain integer of up to 18 digits, or 0 for a value of
// another type. Other numbers are left to the slow path.
func (s *chunkScanner) int() (int, bool) {
	if !(s.at('-') || s.pos < len(s.b) && s.b[s.pos] >= '0' && s.b[s.pos] <= '9') {
		return 0, s.value(3)
	}
	raw, plain, ok := s.number()
	if !ok || !plain {
		return 0, false
	}
	neg := raw[0] == '-'
	if neg {
		raw = raw[1:]
	}
	if len(raw) > 18 {
		return 0, false
	}
	n := 0
	for _, c := range raw {
		n = n*10 + int(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// str reads a string whose opening quote is next, checking its escapes and that it holds
// no control characters.
func (s *chunkScanner) str() (span, bool) {
	if !s.at('"') {
		return span{}, false
	}
	s.pos++
	start, esc := s.pos, false
	for {
		for s.pos < len(s.b) && plainStringByte[s.b[s.pos]] {
			s.pos++
		}
		if s.pos == len(s.b) {
			return span{}, false
		}
		switch s.b[s.pos] {
		case '"':
			raw := s.b[start:s.pos]
			s.pos++
			return span{raw: raw, esc: esc, set: true}, true
		case '\\':
			esc = true
			if s.pos+1 >= len(s.b) {
				return span{}, false
			}
			switch s.b[s.pos+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.pos += 2
			case 'u':
				if len(s.b)-s.pos < 6 || !isHex4(s.b[s.pos+2:s.pos+6]) {
					return span{}, false
				}
				s.pos += 6
			default:
				return span{}, false
			}
		default: // a control character
			return span{}, false
		}
	}
}

// plainStringByte marks the bytes a string may hold as they are: not the quote, the
// backslash or a control character.
var plainStringByte = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func hexVal(b []byte) rune {
	var r rune
	for _, c := range b {
		r <<= 4
		switch {
		case c <= '9':
			r |= rune(c - '0')
		case c >= 'a':
			r |= rune(c - 'a' + 10)
		default:
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}

// appendText appends sp's unescaped bytes to the chunk's text; a surrogate escape, whose
// pairing rules fastjson applies its own way, is left to the slow path.
func (s *chunkScanner) appendText(sp span) bool {
	if !sp.esc {
		s.f.text = append(s.f.text, sp.raw...)
		return true
	}
	raw := sp.raw
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			s.f.text = append(s.f.text, c)
			continue
		}
		i++
		switch raw[i] {
		case 'b':
			s.f.text = append(s.f.text, '\b')
		case 'f':
			s.f.text = append(s.f.text, '\f')
		case 'n':
			s.f.text = append(s.f.text, '\n')
		case 'r':
			s.f.text = append(s.f.text, '\r')
		case 't':
			s.f.text = append(s.f.text, '\t')
		case 'u':
			r := hexVal(raw[i+1 : i+5])
			if 0xd800 <= r && r < 0xe000 {
				return false
			}
			s.f.text = utf8.AppendRune(s.f.text, r)
			i += 4
		default: // '"', '\\', '/'
			s.f.text = append(s.f.text, raw[i])
		}
	}
	return true
}
