package stream

import (
	"bytes"
	"fmt"
)

// MaxLineBytes bounds one line of a stream. A longer line is a malformed stream, not
// something to buffer forever.
const MaxLineBytes = 16 << 20

// lineSplitter cuts a byte stream into lines ending in \n, \r\n or \r, carrying a partial
// line over to the next write. Lines passed to fn are valid only during the call.
type lineSplitter struct {
	carry   []byte
	afterCR bool // the previous byte was a lone \r, so a leading \n is part of its terminator
}

func (s *lineSplitter) feed(p []byte, fn func(line []byte) error) error {
	if s.afterCR && len(p) > 0 {
		s.afterCR = false
		if p[0] == '\n' {
			p = p[1:]
		}
	}
	for len(p) > 0 {
		i := lineEnd(p)
		if i < 0 {
			if len(s.carry)+len(p) > MaxLineBytes {
				return fmt.Errorf("%w: line longer than %d bytes", ErrMalformed, MaxLineBytes)
			}
			s.carry = append(s.carry, p...)
			return nil
		}
		line := p[:i]
		if len(s.carry) > 0 {
			if len(s.carry)+i > MaxLineBytes {
				return fmt.Errorf("%w: line longer than %d bytes", ErrMalformed, MaxLineBytes)
			}
			s.carry = append(s.carry, line...)
			line = s.carry
		}
		if p[i] == '\r' {
			if i+1 < len(p) {
				if p[i+1] == '\n' {
					i++
				}
			} else {
				s.afterCR = true
			}
		}
		p = p[i+1:]
		err := fn(line)
		s.carry = s.carry[:0]
		if err != nil {
			return err
		}
	}
	return nil
}

// lineEnd returns the index of the first \r or \n in p, or -1. Two single-byte searches
// (vectorised) cost a fifth of what bytes.IndexAny's byte-at-a-time scan did: it was 20%
// of the client's CPU per streamed token.
func lineEnd(p []byte) int {
	n := bytes.IndexByte(p, '\n')
	head := p
	if n >= 0 {
		head = p[:n]
	}
	if r := bytes.IndexByte(head, '\r'); r >= 0 {
		return r
	}
	return n
}

// rest returns an unterminated final line, if any.
func (s *lineSplitter) rest() []byte { return s.carry }
